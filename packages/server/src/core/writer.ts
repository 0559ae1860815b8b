import type { Transport, WriteResumer } from '../transport/types.js';
import { EncodedPush } from './encoded-push.js';
import type { Flushable, FlushQueue } from './flush-scheduler.js';
import type { PushFraming } from './options.js';

/** Told when a writer's queue overflowed (a method, not a closure per writer). */
export interface OverflowListener {
  writerOverflowed(): void;
}

/**
 * A session's outbound queue, bounded in bytes.
 *
 * Contract: units are written in enqueue order, joined into one transport frame per flush (one
 * event-loop turn, or the scheduler's write delay). While the transport is still writing an
 * earlier frame (`holdWhileWriting`), units are held and leave as one frame once it is done, so
 * pushes that would leave in one socket write are one frame, never several. A batch that is exactly one shared push
 * (`enqueueShared`) goes to `transport.writeShared` when the transport has it, so a prebuilt
 * frame can be written as is. When queued bytes plus the transport's own buffered bytes would
 * exceed `maxQueueBytes`, enqueueing returns false, drops the unit and calls
 * `listener.writerOverflowed()` once:
 * the session then disconnects the slow consumer (3008). Nothing is queued after `close`.
 */
export class SessionWriter implements Flushable, WriteResumer {
  readonly #transport: Transport;
  readonly #scheduler: FlushQueue;
  readonly #maxQueueBytes: number;
  readonly #listener: OverflowListener;
  // `pushFraming: 'separate'`: several units leave as several frames (in one socket write).
  readonly #separate: boolean;
  // Shared pushes stay EncodedPush until the flush, so a lone one can use the prebuilt frame.
  // Made on the first enqueue and reused after each flush: an idle writer holds one empty array.
  #units: Array<Uint8Array | EncodedPush> | undefined;
  #bytes = 0;
  #scheduled = false;
  // The transport promised a `resume()` once its earlier write has left the process.
  #held = false;
  #closed = false;

  constructor(
    transport: Transport,
    scheduler: FlushQueue,
    maxQueueBytes: number,
    listener: OverflowListener,
    framing: PushFraming = 'batch',
  ) {
    this.#separate = framing === 'separate';
    this.#transport = transport;
    this.#scheduler = scheduler;
    this.#maxQueueBytes = maxQueueBytes;
    this.#listener = listener;
  }

  /** Bytes waiting in this queue (not counting the transport's buffer). */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Queue a unit built for this session. */
  enqueue(unit: Uint8Array): boolean {
    return this.#add(unit, unit.byteLength);
  }

  /** Queue a push shared by many sessions (encoded once per codec, see EncodedPush). */
  enqueueShared(encoded: EncodedPush): boolean {
    return this.#add(encoded, encoded.unitFor(this.#transport.codec).byteLength);
  }

  #add(entry: Uint8Array | EncodedPush, size: number): boolean {
    if (this.#closed) return false;
    if (this.#bytes + size + this.#transport.bufferedBytes > this.#maxQueueBytes) {
      this.#closed = true;
      this.#units = undefined;
      this.#bytes = 0;
      this.#listener.writerOverflowed();
      return false;
    }
    this.#units ??= [];
    this.#units.push(entry);
    this.#bytes += size;
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#scheduler.schedule(this);
    }
    return true;
  }

  flush(): void {
    this.#scheduled = false;
    const units = this.#units;
    if (this.#closed || units === undefined || units.length === 0 || this.#held) return;
    if (this.#transport.holdWhileWriting?.(this) === true) {
      this.#held = true;
      return;
    }
    this.#flushNow();
  }

  #flushNow(): void {
    const units = this.#units;
    if (this.#closed || units === undefined || units.length === 0) return;
    const transport = this.#transport;
    // Metrics: one call per flush when a sink is configured (core/flush-meter.ts).
    this.#scheduler.meter?.record(transport.name, units, this.#bytes);
    // Detach the batch: should the transport re-enter and enqueue, that starts a new array.
    this.#units = undefined;
    this.#bytes = 0;
    const codec = transport.codec;
    if (units.length === 1) {
      const only = units[0]!;
      if (!(only instanceof EncodedPush)) transport.write(only);
      else if (transport.writeShared !== undefined) transport.writeShared(only);
      else transport.write(only.unitFor(codec));
    } else if (transport.writeSharedMany !== undefined && allShared(units)) {
      transport.writeSharedMany(units);
    } else {
      for (let i = 0; i < units.length; i++) {
        const entry = units[i]!;
        if (entry instanceof EncodedPush) units[i] = entry.unitFor(codec);
      }
      if (this.#separate) transport.writeMany(units as Uint8Array[]);
      else transport.write(codec.join(units as Uint8Array[]));
    }
    units.length = 0;
    if (this.#units === undefined) this.#units = units;
  }

  /** The transport's earlier write has left: write what was held meanwhile, as one frame. */
  resume(): void {
    this.#held = false;
    this.flush();
  }

  /** Write what is queued now (used right before a close frame), then stop accepting. */
  drainAndClose(): void {
    if (this.#closed) return;
    // A close frame follows at once: the held units go first, joined, even mid-write.
    this.#held = false;
    this.#flushNow();
    this.#closed = true;
  }

  /** Drop what is queued and stop accepting. */
  close(): void {
    this.#closed = true;
    this.#units = undefined;
    this.#bytes = 0;
  }
}

function allShared(units: ReadonlyArray<Uint8Array | EncodedPush>): units is readonly EncodedPush[] {
  for (let i = 0; i < units.length; i++) if (!(units[i] instanceof EncodedPush)) return false;
  return true;
}
