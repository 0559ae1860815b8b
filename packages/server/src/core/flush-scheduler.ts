/** Something with pending output to write once per event-loop turn. */
export interface Flushable {
  flush(): void;
}

/**
 * Batches writes per event-loop turn for all sessions with one `setImmediate`, instead of a
 * timer or closure per session: a fan-out to N subscribers queues N units and then performs one
 * write per subscriber in the next turn.
 */
export class FlushScheduler {
  #pending: Flushable[] = [];
  #spare: Flushable[] = [];
  #scheduled = false;
  readonly #run = (): void => this.#flushAll();

  /** Queue `item` for the next flush; the caller guarantees it is queued at most once per turn. */
  schedule(item: Flushable): void {
    this.#pending.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  #flushAll(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    // Swap arrays so items scheduled while flushing go to the next turn without allocating.
    this.#pending = this.#spare;
    for (let i = 0; i < batch.length; i++) batch[i]!.flush();
    batch.length = 0;
    this.#spare = batch;
  }
}
