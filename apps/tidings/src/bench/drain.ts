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
 * until `delivered()` reaches `expected`, or it stops moving for `idleMs`, or `maxMs` passed, or
 * `failed()` says the run failed. Resolves with why it stopped.
 */
export async function drainDeliveries(
  delivered: () => number,
  expected: number,
  failed: () => boolean,
  limits: DrainLimits,
  now: () => number = () => performance.now(),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<'complete' | 'idle' | 'timeout' | 'failed'> {
  const end = now() + limits.maxMs;
  let last = delivered();
  let movedAt = now();
  for (;;) {
    if (failed()) return 'failed';
    if (last >= expected) return 'complete';
    if (now() >= end) return 'timeout';
    await sleep(limits.pollMs);
    const count = delivered();
    if (count !== last) {
      last = count;
      movedAt = now();
    } else if (now() - movedAt >= limits.idleMs) return 'idle';
  }
}
