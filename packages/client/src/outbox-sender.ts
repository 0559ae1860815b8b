import { type Command, type Reply, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { randomId } from './errors.js';
import { checkOutboxLimits, type OutboxLimits, type OutboxStore } from './outbox.js';

const encoder = new TextEncoder();

/**
 * Sends the outbox's entries one at a time, in the order they were queued: the next is sent only
 * after the server acknowledged the previous, so a reconnect never reorders them. An entry leaves
 * the store only when acknowledged (or refused for good), so a lost connection or a reload sends it
 * again.
 */
export class OutboxSender {
  readonly #store: OutboxStore;
  readonly #limits: OutboxLimits;
  readonly #call: (command: Command) => Promise<Reply>;
  readonly #waiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  #flushing: Promise<void> | undefined;
  #again = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(store: OutboxStore, limits: OutboxLimits, call: (command: Command) => Promise<Reply>) {
    this.#store = store;
    this.#limits = limits;
    this.#call = call;
  }

  /** Queues a publish; resolves when it is acknowledged. */
  enqueue(channel: string, data: string): Promise<void> {
    const entry = { id: randomId(), channel, data };
    const done = new Promise<void>((resolve, reject) => this.#waiters.set(entry.id, { resolve, reject }));
    // Adds run one after another so the limit check sees every earlier entry.
    this.#tail = this.#tail.then(async () => {
      try {
        checkOutboxLimits(await this.#store.load(), entry, this.#limits);
        await this.#store.add(entry);
      } catch (error) {
        this.#settle(entry.id, error as Error);
      }
    });
    return done;
  }

  /**
   * Sends queued entries until the store is empty or the connection fails; one flush at a time. A
   * flush asked for while one runs makes it go round once more, so an entry queued just as the
   * running one found the store empty is not left behind.
   */
  flush(): Promise<void> {
    if (this.#flushing !== undefined) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        await this.#run();
      } while (this.#again);
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #run(): Promise<void> {
    await this.#tail;
    for (;;) {
      const [entry] = await this.#store.load();
      if (entry === undefined) return;
      let reply: Reply;
      try {
        reply = await this.#call({
          publish: { channel: entry.channel, data: encoder.encode(entry.data), idempotencyKey: entry.id },
        });
      } catch {
        return; // Connection lost: the entry stays and is sent after the reconnect.
      }
      if (reply.error?.temporary === true) return;
      await this.#store.remove(entry.id);
      this.#settle(
        entry.id,
        reply.error === undefined
          ? undefined
          : new TidingsError(TidingsErrorCode.Client, reply.error.message, { wireCode: reply.error.code }),
      );
    }
  }

  #settle(id: string, error: Error | undefined): void {
    const w = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (error === undefined) w?.resolve();
    else w?.reject(error);
  }
}
