import type { MsgHdrs } from '@nats-io/transport-node';

/** How long a republished message waits for the ones stored before it on its subject. */
export const REORDER_WAIT_MS = 250;

/** At most this many subjects are tracked per orderer; the oldest is flushed and forgotten. */
const MAX_TRACKED = 10_000;

/** The stream positions a republished message carries (`Nats-Sequence`, `Nats-Last-Sequence`). */
export interface RepublishPosition {
  /** Stream sequence of this message. */
  readonly seq: number;
  /** Stream sequence of the message stored before it on the same subject (0: none). */
  readonly previous: number;
}

/** Reads the positions JetStream adds to a republished message; undefined when they are missing. */
export function republishPosition(h: MsgHdrs | undefined): RepublishPosition | undefined {
  const seq = Number(h?.get('Nats-Sequence'));
  const previous = Number(h?.get('Nats-Last-Sequence'));
  if (!Number.isSafeInteger(seq) || seq <= 0 || !Number.isSafeInteger(previous) || previous < 0) return undefined;
  return { seq, previous };
}

interface Waiting<T> {
  readonly position: RepublishPosition;
  readonly item: T;
}

interface SubjectState<T> {
  /** Sequence of the last message handed on for this subject. */
  last: number;
  /** Messages that arrived before their predecessor, keyed by the predecessor's sequence. */
  readonly waiting: Map<number, Waiting<T>>;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Puts a stream's republished messages back in stream order, per subject.
 *
 * Why: nats-server stores a message under the stream lock but queues its republish after
 * releasing it (server/stream.go, processJetStreamMsg, seen in 2.9), so two publishers on
 * separate connections can have their republishes queued in the opposite order of their stream
 * sequences. A subscriber then sees offset 83 before 82. Each republished message names the
 * sequence of the message stored before it on its subject (`Nats-Last-Sequence`), so a message
 * whose predecessor has not been handed on waits for it, at most `waitMs`.
 *
 * After the wait the waiting messages go on in sequence order: the predecessor was lost (core
 * NATS does not redeliver), and the hub sees the offset gap and sends positioned subscribers
 * through recovery, as for any loss. A message older than the last one handed on (it arrived
 * after such a wait, or before the first one seen since subscribing) is handed on too; the hub
 * skips offsets a positioned subscriber already has.
 */
export class RepublishOrderer<T> {
  readonly #emit: (key: string, item: T) => void;
  readonly #waitMs: number;
  readonly #subjects = new Map<string, SubjectState<T>>();

  constructor(emit: (key: string, item: T) => void, waitMs = REORDER_WAIT_MS) {
    this.#emit = emit;
    this.#waitMs = waitMs;
  }

  /** Hands `item` on now, or once the messages stored before it on `key` have been handed on. */
  push(key: string, position: RepublishPosition | undefined, item: T): void {
    if (position === undefined) {
      this.#emit(key, item);
      return;
    }
    const state = this.#subjects.get(key);
    if (state === undefined) {
      this.#track(key, { last: position.seq, waiting: new Map(), timer: undefined });
      this.#emit(key, item);
      return;
    }
    if (position.previous === state.last || position.seq <= state.last) {
      if (position.seq > state.last) state.last = position.seq;
      this.#emit(key, item);
      this.#drain(key, state);
      return;
    }
    state.waiting.set(position.previous, { position, item });
    if (state.timer === undefined) {
      state.timer = setTimeout(() => this.#giveUp(key, state), this.#waitMs);
      // A wait must not hold a closing process open.
      state.timer.unref?.();
    }
  }

  /** Forgets `key` (its subscription ended): waiting messages are dropped with it. */
  forget(key: string): void {
    const state = this.#subjects.get(key);
    if (state === undefined) return;
    if (state.timer !== undefined) clearTimeout(state.timer);
    this.#subjects.delete(key);
  }

  /** Forgets every subject, dropping what waits (the subscription ended). */
  clear(): void {
    for (const key of [...this.#subjects.keys()]) this.forget(key);
  }

  /** Hands on everything waiting, in sequence order, and forgets every subject (after a reconnect). */
  flushAll(): void {
    for (const [key, state] of [...this.#subjects]) {
      this.#flush(key, state);
      this.forget(key);
    }
  }

  /** Messages waiting for a predecessor, over all subjects (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const state of this.#subjects.values()) n += state.waiting.size;
    return n;
  }

  #track(key: string, state: SubjectState<T>): void {
    if (this.#subjects.size >= MAX_TRACKED) {
      const oldest = this.#subjects.entries().next().value;
      if (oldest !== undefined) {
        this.#flush(oldest[0], oldest[1]);
        this.forget(oldest[0]);
      }
    }
    this.#subjects.set(key, state);
  }

  #drain(key: string, state: SubjectState<T>): void {
    for (let next = state.waiting.get(state.last); next !== undefined; next = state.waiting.get(state.last)) {
      state.waiting.delete(state.last);
      state.last = next.position.seq;
      this.#emit(key, next.item);
    }
    if (state.waiting.size === 0 && state.timer !== undefined) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  #giveUp(key: string, state: SubjectState<T>): void {
    state.timer = undefined;
    if (this.#subjects.get(key) === state) this.#flush(key, state);
  }

  #flush(key: string, state: SubjectState<T>): void {
    const rest = [...state.waiting.values()].sort((a, b) => a.position.seq - b.position.seq);
    state.waiting.clear();
    if (state.timer !== undefined) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
    for (const w of rest) {
      if (w.position.seq > state.last) state.last = w.position.seq;
      this.#emit(key, w.item);
    }
  }
}
