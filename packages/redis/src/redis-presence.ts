import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { decodeClientInfo, encodeClientInfo, type PresenceStats, type PresenceStore } from '@tidings/server';
import type { KeySpace } from './keys.js';
import { asArray, asBuffer, asText } from './replies.js';
import { PRESENCE_ADD_SCRIPT, PRESENCE_GET_SCRIPT, PRESENCE_REMOVE_SCRIPT } from './scripts.js';
import type { RedisCommands } from './transport.js';

/**
 * A `PresenceStore` on Redis, shared by every node: per channel a hash clientId → encoded info
 * and a sorted set clientId → expiry time (Redis server time, so nodes need no clock
 * agreement). `add` writes both atomically and refreshes the entry's expiry; `get` and `stats`
 * drop expired entries in the same script that reads, so they never report them. Both keys
 * expire with the longest-lived entry, so presence of an abandoned channel vanishes by itself.
 *
 * `stats.numUsers` counts distinct `info.user` values. Redis failures reject with
 * `TIDINGS_ERR_UNAVAILABLE`. After `close()`, `add`, `get` and `stats` reject with
 * `TIDINGS_ERR_STATE`; `remove` is a no-op and `close` is idempotent. `close` releases one use
 * of the connection (shared with the broker by `createRedisEngine`, see `RedisCommands.retain`).
 */
export class RedisPresence implements PresenceStore {
  readonly #connection: RedisCommands;
  readonly #keys: KeySpace;
  #closed = false;

  constructor(options: { readonly connection: RedisCommands; readonly keys: KeySpace }) {
    this.#connection = options.connection;
    this.#keys = options.keys;
  }

  /** Adds or refreshes `clientId` in `channel` until `ttlMs` from now (Redis time). */
  async add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void> {
    this.#assertOpen('add');
    await this.#connection.eval(PRESENCE_ADD_SCRIPT, this.#keysOf(channel), [
      clientId,
      Buffer.from(encodeClientInfo(info)),
      String(Math.max(1, Math.ceil(ttlMs))),
    ]);
  }

  /** Removes `clientId` from `channel`; removing an absent client is a no-op. */
  async remove(channel: string, clientId: string): Promise<void> {
    if (this.#closed) return;
    await this.#connection.eval(PRESENCE_REMOVE_SCRIPT, this.#keysOf(channel), [clientId]);
  }

  /** Live entries of `channel`, keyed by clientId. */
  async get(channel: string): Promise<Record<string, ClientInfo>> {
    this.#assertOpen('get');
    const reply = asArray(await this.#connection.eval(PRESENCE_GET_SCRIPT, this.#keysOf(channel), []));
    const out: Record<string, ClientInfo> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) {
      out[asText(reply[i])] = decodeClientInfo(asBuffer(reply[i + 1]));
    }
    return out;
  }

  /** Live client and distinct user counts of `channel`. */
  async stats(channel: string): Promise<PresenceStats> {
    const entries = Object.values(await this.get(channel));
    return { numClients: entries.length, numUsers: new Set(entries.map((info) => info.user)).size };
  }

  /** Marks the store closed and releases its use of the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close();
  }

  #keysOf(channel: string): string[] {
    return [this.#keys.presenceInfo(channel), this.#keys.presenceExpiry(channel)];
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `RedisPresence.${method}: presence is closed`);
  }
}
