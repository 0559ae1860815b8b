/** Bounds of the reconnect backoff. */
export interface BackoffOptions {
  /** Cap of the first attempt's delay. */
  readonly minDelayMs: number;
  /** No delay is ever longer. */
  readonly maxDelayMs: number;
}

/** Defaults: 500 ms first cap, 20 s ceiling. */
export const defaultBackoff: BackoffOptions = { minDelayMs: 500, maxDelayMs: 20_000 };

/**
 * Full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff And Jitter"): a
 * uniform delay in `[0, min(max, min * 2^attempt))`. `attempt` counts from 0. `random` returns a
 * number in `[0, 1)` and is injected for tests. A server-advised delay, when given, is a floor:
 * the client never comes back earlier than the server asked.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
  advisedMs?: number,
): number {
  const exp = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const jittered = Math.floor(random() * exp);
  return advisedMs !== undefined && advisedMs > jittered ? advisedMs : jittered;
}
