import { headers } from '@nats-io/transport-node';
import { type ClientInfo, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { decodeClientInfo, encodeClientInfo, type PresenceStats, type PresenceStore } from '@tidings/server';
import { type NatsConnector, toUnavailable } from './connection.js';
import type { NatsNames } from './names.js';
import { Header } from './records.js';
import { scanSubject } from './subject-scan.js';

/**
 * A `PresenceStore` on a JetStream stream shared by every node: one subject per (channel,
 * client), keeping one message (`max_msgs_per_subject: 1`), whose headers carry the entry's TTL.
 * `add` overwrites the entry (a refresh is a new message, so its server timestamp restarts the
 * TTL); `remove` purges the subject; `get` reads the channel's subjects and drops entries whose
 * timestamp + TTL has passed by this node's clock (so node clocks should agree within the TTL
 * granularity). JetStream 2.9 has no per-message TTL, so abandoned entries leave storage through
 * the stream's `max_age`, which must exceed every presence TTL.
 *
 * `stats.numUsers` counts distinct `info.user`. NATS failures reject with
 * `TIDINGS_ERR_UNAVAILABLE`. After `close()`, `add`, `get` and `stats` reject with
 * `TIDINGS_ERR_STATE`; `remove` is a no-op and `close` is idempotent.
 */
export class NatsPresence implements PresenceStore {
  readonly #connector: NatsConnector;
  readonly #names: NatsNames;
  #closed = false;

  constructor(options: { readonly connector: NatsConnector; readonly names: NatsNames }) {
    this.#connector = options.connector;
    this.#names = options.names;
  }

  /** Adds or refreshes `clientId` in `channel` until `ttlMs` from now (server timestamp). */
  async add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void> {
    this.#assertOpen('add');
    const { js } = await this.#connector.use();
    const h = headers();
    h.set(Header.Ttl, String(Math.max(1, Math.ceil(ttlMs))));
    await js.publish(this.#names.presence(channel, clientId), encodeClientInfo(info), { headers: h }).catch((err) => {
      throw toUnavailable(err, 'adding presence');
    });
  }

  /** Removes `clientId` from `channel`; removing an absent client is a no-op. */
  async remove(channel: string, clientId: string): Promise<void> {
    if (this.#closed) return;
    const { jsm } = await this.#connector.use();
    await jsm.streams
      .purge(this.#names.presenceStream, { filter: this.#names.presence(channel, clientId) })
      .catch((err) => {
        throw toUnavailable(err, 'removing presence');
      });
  }

  /** Live entries of `channel`, keyed by clientId. */
  async get(channel: string): Promise<Record<string, ClientInfo>> {
    this.#assertOpen('get');
    const h = await this.#connector.use();
    const now = Date.now();
    const filter = this.#names.presenceOf(channel);
    const prefix = filter.slice(0, -1);
    const entries: Array<[string, ClientInfo]> = [];
    for (const msg of await scanSubject(h, this.#names.presenceStream, filter)) {
      const ttlMs = Number(msg.header?.get(Header.Ttl));
      if (!(msg.time + ttlMs > now)) continue;
      const clientId = Buffer.from(msg.subject.slice(prefix.length), 'base64url').toString('utf8');
      entries.push([clientId, decodeClientInfo(msg.data)]);
    }
    // fromEntries defines own properties, so a client id `__proto__` stays an entry.
    return Object.fromEntries(entries);
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
    await this.#connector.close();
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `NatsPresence.${method}: presence is closed`);
  }
}
