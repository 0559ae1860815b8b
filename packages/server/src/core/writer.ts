import type { Transport } from '../transport/types.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';

/**
 * A session's outbound queue, bounded in bytes.
 *
 * Contract: units are written in enqueue order, joined into one transport frame per event-loop
 * turn. When queued bytes plus the transport's own buffered bytes would exceed `maxQueueBytes`,
 * `enqueue` returns false, drops the unit and calls `onOverflow` once: the session then
 * disconnects the slow consumer (3008). Nothing is queued after `close`.
 */
export class SessionWriter implements Flushable {
  readonly #transport: Transport;
  readonly #scheduler: FlushScheduler;
  readonly #maxQueueBytes: number;
  readonly #onOverflow: () => void;
  #units: Uint8Array[] = [];
  #bytes = 0;
  #scheduled = false;
  #closed = false;

  constructor(transport: Transport, scheduler: FlushScheduler, maxQueueBytes: number, onOverflow: () => void) {
    this.#transport = transport;
    this.#scheduler = scheduler;
    this.#maxQueueBytes = maxQueueBytes;
    this.#onOverflow = onOverflow;
  }

  /** Bytes waiting in this queue (not counting the transport's buffer). */
  get queuedBytes(): number {
    return this.#bytes;
  }

  enqueue(unit: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#bytes + unit.byteLength + this.#transport.bufferedBytes > this.#maxQueueBytes) {
      this.#closed = true;
      this.#units = [];
      this.#bytes = 0;
      this.#onOverflow();
      return false;
    }
    this.#units.push(unit);
    this.#bytes += unit.byteLength;
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#scheduler.schedule(this);
    }
    return true;
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#closed || this.#units.length === 0) return;
    const units = this.#units;
    this.#units = [];
    this.#bytes = 0;
    this.#transport.write(units.length === 1 ? units[0]! : this.#transport.codec.join(units));
  }

  /** Write what is queued now (used right before a close frame), then stop accepting. */
  drainAndClose(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }

  /** Drop what is queued and stop accepting. */
  close(): void {
    this.#closed = true;
    this.#units = [];
    this.#bytes = 0;
  }
}
