import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { StateEntry, StateStore } from '@tidings/server';
import { type NatsConnector, type NatsHandles, toUnavailable, unavailable } from './connection.js';
import type { NatsNames } from './names.js';
import { scanSubject } from './subject-scan.js';

const StateHeader = {
  Offset: 'Tidings-Offset',
  Epoch: 'Tidings-Epoch',
  Time: 'Tidings-Time',
  Ttl: 'Tidings-Ttl',
} as const;

/** Attempts of a compare-and-set write before giving up (each loses only to a newer write). */
const PUT_ATTEMPTS = 8;

/**
 * A `StateStore` on a JetStream stream shared by every node (`<streamName>_STATE`), used as a
 * key-value bucket: one subject per (channel, key) keeping one message, whose headers carry the
 * entry's offset, epoch and time. `put` reads the key's last message and writes only when it is
 * newer, with `expect.lastSubjectSequence`, so two nodes racing on a key leave the higher offset
 * (the loser re-reads and stops). A channel with a TTL also has a marker subject rewritten by
 * every put; once its timestamp + TTL has passed, the channel reads as empty and the next put
 * purges it first. JetStream 2.9 has no per-message TTL: the stream's `max_age` bounds what is
 * left behind. NATS failures reject with `TIDINGS_ERR_UNAVAILABLE`; after `close()` every method
 * but `close` rejects with `TIDINGS_ERR_STATE`.
 */
export class NatsStateStore implements StateStore {
  readonly #connector: NatsConnector;
  readonly #names: NatsNames;
  #closed = false;

  constructor(options: { readonly connector: NatsConnector; readonly names: NatsNames }) {
    this.#connector = options.connector;
    this.#names = options.names;
  }

  async put(channel: string, entry: StateEntry, ttlMs: number): Promise<boolean> {
    this.#assertOpen('put');
    const h = await this.#connector.use();
    const stream = this.#names.stateStream;
    const subject = this.#names.state(channel, entry.key);
    if (ttlMs > 0 && (await this.#expired(h, channel))) await this.#purge(h, channel);
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const last = await h.jsm.direct.getMessage(stream, { last_by_subj: subject }).catch((err: unknown) => {
        throw toUnavailable(err, 'reading state');
      });
      const stored = last === null ? undefined : positionOf(last.header);
      if (stored !== undefined && stored.epoch === entry.epoch && stored.offset >= entry.offset) {
        if (ttlMs > 0) await this.#touch(h, channel, ttlMs);
        return false;
      }
      try {
        await h.js.publish(subject, entry.data, {
          headers: entryHeaders(entry, ttlMs),
          expect: { lastSubjectSequence: last?.seq ?? 0 },
        });
        if (ttlMs > 0) await this.#touch(h, channel, ttlMs);
        return true;
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) continue;
        throw toUnavailable(err, 'writing state');
      }
    }
    throw unavailable(`state of ${channel}: lost the write race ${PUT_ATTEMPTS} times`);
  }

  async get(channel: string, key: string): Promise<StateEntry | undefined> {
    this.#assertOpen('get');
    const h = await this.#connector.use();
    const msg = await h.jsm.direct
      .getMessage(this.#names.stateStream, { last_by_subj: this.#names.state(channel, key) })
      .catch((err: unknown) => {
        throw toUnavailable(err, 'reading state');
      });
    if (msg === null) return undefined;
    if (Number(msg.header?.get(StateHeader.Ttl) ?? 0) > 0 && (await this.#expired(h, channel))) return undefined;
    return entryOf(key, msg.header, msg.data);
  }

  async snapshot(channel: string): Promise<StateEntry[]> {
    this.#assertOpen('snapshot');
    const h = await this.#connector.use();
    const messages = await scanSubject(h, this.#names.stateStream, this.#names.stateOf(channel));
    if (messages.some((m) => Number(m.header?.get(StateHeader.Ttl) ?? 0) > 0) && (await this.#expired(h, channel))) {
      return [];
    }
    const out: StateEntry[] = [];
    for (const m of messages) {
      const entry = entryOf(this.#names.stateKeyOf(m.subject), m.header, m.data);
      if (entry !== undefined) out.push(entry);
    }
    return out.sort((a, b) => a.offset - b.offset);
  }

  async remove(channel: string, key?: string): Promise<void> {
    this.#assertOpen('remove');
    const h = await this.#connector.use();
    if (key === undefined) return this.#purge(h, channel);
    await h.jsm.streams
      .purge(this.#names.stateStream, { filter: this.#names.state(channel, key) })
      .catch((err: unknown) => {
        throw toUnavailable(err, 'removing state');
      });
  }

  /** Marks the store closed and releases its use of the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connector.close();
  }

  /** True when the channel's expiry marker says its TTL has passed (no marker: never expires). */
  async #expired(h: NatsHandles, channel: string): Promise<boolean> {
    const meta = await h.jsm.direct
      .getMessage(this.#names.stateStream, { last_by_subj: this.#names.stateMeta(channel) })
      .catch((err: unknown) => {
        throw toUnavailable(err, 'reading state expiry');
      });
    if (meta === null) return false;
    const ttl = Number(meta.header?.get(StateHeader.Ttl) ?? 0);
    return ttl > 0 && meta.time.getTime() + ttl <= Date.now();
  }

  async #touch(h: NatsHandles, channel: string, ttlMs: number): Promise<void> {
    const hdrs = headers();
    hdrs.set(StateHeader.Ttl, String(Math.ceil(ttlMs)));
    await h.js.publish(this.#names.stateMeta(channel), new Uint8Array(0), { headers: hdrs }).catch((err: unknown) => {
      throw toUnavailable(err, 'writing state expiry');
    });
  }

  async #purge(h: NatsHandles, channel: string): Promise<void> {
    for (const filter of [this.#names.stateOf(channel), this.#names.stateMeta(channel)]) {
      await h.jsm.streams.purge(this.#names.stateStream, { filter }).catch((err: unknown) => {
        throw toUnavailable(err, 'removing state');
      });
    }
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `NatsStateStore.${method}: the store is closed`);
  }
}

function entryHeaders(entry: StateEntry, ttlMs: number): MsgHdrs {
  const h = headers();
  h.set(StateHeader.Offset, String(entry.offset));
  h.set(StateHeader.Epoch, entry.epoch);
  h.set(StateHeader.Time, String(entry.time));
  h.set(StateHeader.Ttl, String(Math.max(0, Math.ceil(ttlMs))));
  return h;
}

function positionOf(h: MsgHdrs | undefined): { offset: number; epoch: string } | undefined {
  const offset = Number(h?.get(StateHeader.Offset));
  if (h === undefined || !Number.isFinite(offset)) return undefined;
  return { offset, epoch: h.get(StateHeader.Epoch) };
}

function entryOf(key: string, h: MsgHdrs | undefined, data: Uint8Array): StateEntry | undefined {
  const position = positionOf(h);
  if (position === undefined) return undefined;
  return { key, data: new Uint8Array(data), ...position, time: Number(h?.get(StateHeader.Time) ?? 0) };
}
