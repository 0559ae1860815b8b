import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Clock, TimerHandle } from '../../internal/clock.js';
import { errorOf, type IpcMessage, type IpcOperation, type IpcPort } from './messages.js';

/** Deliveries pushed by the primary: publications, joins and leaves. */
export type IpcEvent = Extract<IpcMessage, { ipc: 'pub' | 'join' | 'leave' | 'gap' | 'ppub' | 'pgap' }>;

/** Options of an `IpcLink`. */
export interface IpcLinkOptions {
  readonly clock: Clock;
  /** A request unanswered after this long rejects with `TIDINGS_ERR_UNAVAILABLE`. */
  readonly requestTimeoutMs: number;
  /** Requests in flight at most; one more rejects at once with `TIDINGS_ERR_UNAVAILABLE`. */
  readonly maxPendingRequests: number;
  readonly onEvent: (event: IpcEvent) => void;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

/**
 * The worker end of the IPC engine: numbered requests to the primary, their replies, and the
 * deliveries pushed in between. Requests and deliveries share one ordered channel, so a
 * publication the primary delivered before answering a request arrives before that answer.
 * Once the port closes (the primary is gone) every pending and later request rejects at once
 * with `TIDINGS_ERR_UNAVAILABLE` and `connected` stays false.
 */
export class IpcLink {
  readonly #port: IpcPort;
  readonly #options: IpcLinkOptions;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #connected = true;
  #timer: TimerHandle | undefined;

  constructor(port: IpcPort, options: IpcLinkOptions) {
    this.#port = port;
    this.#options = options;
    port.onMessage((message) => this.#receive(message));
    port.onClose?.(() => this.disconnect('the primary process is gone'));
  }

  /** False once the primary is gone; it never comes back on this port. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Sends `operation` and resolves with the primary's answer. */
  request(operation: IpcOperation): Promise<unknown> {
    if (!this.#connected) return Promise.reject(unavailable('the primary process is gone'));
    if (this.#pending.size >= this.#options.maxPendingRequests) {
      return Promise.reject(unavailable(`${this.#pending.size} requests to the primary in flight`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: this.#options.clock.now() + this.#options.requestTimeoutMs });
      this.#armTimer();
      this.#port.send({ ipc: 'req', id, ...operation });
    });
  }

  /** Marks the link gone and fails every request in flight (idempotent). */
  disconnect(reason: string): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#stopTimer();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(unavailable(reason));
  }

  /** Stops the timeout timer; pending requests still settle if answered. */
  stop(): void {
    this.#stopTimer();
  }

  #receive(message: IpcMessage): void {
    switch (message.ipc) {
      case 'res':
      case 'err': {
        const pending = this.#pending.get(message.id);
        if (pending === undefined) return;
        this.#pending.delete(message.id);
        if (message.ipc === 'res') pending.resolve(message.value);
        else pending.reject(errorOf(message.code, message.message));
        return;
      }
      case 'pub':
      case 'join':
      case 'leave':
      case 'gap':
      case 'ppub':
      case 'pgap':
        this.#options.onEvent(message);
        return;
      default:
        return;
    }
  }

  // One timer for all requests rather than one per request: publishes are the hot path.
  #armTimer(): void {
    if (this.#timer !== undefined) return;
    const period = Math.max(10, Math.floor(this.#options.requestTimeoutMs / 4));
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
      if (this.#pending.size > 0) this.#armTimer();
    }, period);
  }

  #expire(): void {
    const now = this.#options.clock.now();
    // Map order is send order and every request has the same timeout, so deadlines ascend.
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) break;
      this.#pending.delete(id);
      pending.reject(unavailable(`no answer from the primary in ${this.#options.requestTimeoutMs} ms`));
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function unavailable(reason: string): TidingsError {
  return new TidingsError(TidingsErrorCode.Unavailable, `IPC engine: ${reason}`, { temporary: true });
}
