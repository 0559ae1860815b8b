import type { Command, Disconnect, Reply } from '@tidings/protocol';
import { decodeOneWayRecords, OneWayClosedError, type OneWaySessionPort, oneWayCodec } from '../one-way/index.js';
import type { Transport } from '../types.js';

/** A live publication seen while a poll waits: only its position matters, payloads come from history. */
export interface PollWake {
  readonly channel: string;
  readonly offset: number;
}

/**
 * A session's view of one poll request. It carries no events to the peer: the poll edge sends
 * the session commands with `request` (connect, subscribe) for authentication, permissions and
 * the stream tops, and learns of live publications through `onPublication`, which only wakes a
 * waiting poll; the reply is always built from history, so its offsets are the store's.
 * Nothing is buffered, so `bufferedBytes` is always 0.
 */
export class PollTransport implements Transport {
  readonly name = 'poll';
  readonly unidirectional = true;
  readonly codec = oneWayCodec;
  readonly bufferedBytes = 0;
  /** Called for every live publication of a subscribed channel. */
  onPublication: ((wake: PollWake) => void) | undefined;
  /** Called once when the session closes this transport (shutdown, token expiry...). */
  onClose: ((disconnect: Disconnect) => void) | undefined;
  readonly #waiters = new Map<number, { resolve(reply: Reply): void; reject(error: OneWayClosedError): void }>();
  #session: OneWaySessionPort | undefined;
  #closed = false;
  #nextId = 1;

  attach(session: OneWaySessionPort): void {
    this.#session = session;
  }

  /** Sends one command to the session; resolves with its reply (which may hold an error). */
  request(command: Omit<Command, 'id'>): Promise<Reply> {
    if (this.#closed || this.#session === undefined) return Promise.reject(new OneWayClosedError(undefined));
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    this.#session.handleCommands([{ ...command, id }]);
    return reply;
  }

  write(frame: Uint8Array): void {
    if (this.#closed) return;
    for (const record of decodeOneWayRecords(frame)) {
      if (record.kind === 'publication') {
        this.onPublication?.({ channel: record.channel, offset: record.offset });
        continue;
      }
      const id = record.reply.id;
      if (id === undefined) continue;
      const waiter = this.#waiters.get(id);
      this.#waiters.delete(id);
      waiter?.resolve(record.reply);
    }
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  close(disconnect: Disconnect): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectWaiters(disconnect);
    this.onClose?.(disconnect);
  }

  /** The poll is answered (or its peer left): release the session. Idempotent. */
  release(): void {
    this.#closed = true;
    this.#rejectWaiters(undefined);
    // Idempotent in the session, so a transport the session closed itself is released once too.
    this.#session?.transportClosed();
  }

  #rejectWaiters(disconnect: Disconnect | undefined): void {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of waiters) w.reject(new OneWayClosedError(disconnect));
  }
}
