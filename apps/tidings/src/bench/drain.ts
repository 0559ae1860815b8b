/** How long the drain after publishing may wait. */
export interface DrainLimits {
  /** Stop once the count has not moved for this long: what is still missing is lost, not late. */
  readonly idleMs: number;
  /** Stop after this long in any case. */
  readonly maxMs: number;
  /** How often to look at the count. */
  readonly pollMs: number;
}

/**
 * The drain after publishing: a saturated load generator may still be reading seconds of backlog
 * when publishing ends, and stopping it early would report those deliveries as missing. Waits
 * until `delivered()` reaches `expected`, or it stops moving for `idleMs` while `heartbeats()`
 * (the reports every load worker has sent, the fewest of them) advanced at least twice, or
 * `maxMs` passed, or `failed()` says the run failed. Resolves with why it stopped.
 *
 * The heartbeats matter: the count only moves when workers report, and a worker reading a deep
 * backlog reports late, so a count that stands still says nothing until every worker has
 * reported twice with nothing new.
 */
export async function drainDeliveries(
  delivered: () => number,
  expected: number,
  failed: () => boolean,
  limits: DrainLimits,
  heartbeats: (() => number) | undefined = undefined,
  now: () => number = () => performance.now(),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<'complete' | 'idle' | 'timeout' | 'failed'> {
  const end = now() + limits.maxMs;
  let last = delivered();
  let movedAt = now();
  let beatsAtMove = heartbeats?.() ?? 0;
  for (;;) {
    if (failed()) return 'failed';
    if (last >= expected) return 'complete';
    if (now() >= end) return 'timeout';
    await sleep(limits.pollMs);
    const count = delivered();
    if (count !== last) {
      last = count;
      movedAt = now();
      beatsAtMove = heartbeats?.() ?? 0;
    } else if (now() - movedAt >= limits.idleMs && (heartbeats === undefined || heartbeats() - beatsAtMove >= 2)) {
      return 'idle';
    }
  }
}
