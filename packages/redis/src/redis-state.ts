import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { StateEntry, StateStore } from '@tidings/server';
import { luaScript } from './connection.js';
import type { KeySpace } from './keys.js';
import { asArray, asBuffer, asNumber, asText } from './replies.js';
import type { RedisCommands } from './transport.js';

/**
 * State put. KEYS: 1 state hash. ARGV: 1 key, 2 offset, 3 epoch, 4 encoded entry, 5 ttl ms (0 =
 * none). Keeps the stored entry when it has the same epoch and an offset not lower; returns 1
 * when it stored. The ttl is refreshed either way: the channel was written to.
 */
const STATE_PUT_SCRIPT = luaScript(`
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local wrote = 0
local keep = false
if stored then
  local nl = string.find(stored, '\\n', 1, true)
  local nl2 = string.find(stored, '\\n', nl + 1, true)
  local offset = tonumber(string.sub(stored, 1, nl - 1))
  local epoch = string.sub(stored, nl + 1, nl2 - 1)
  keep = epoch == ARGV[3] and offset >= tonumber(ARGV[2])
end
if not keep then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
  wrote = 1
end
local ttl = tonumber(ARGV[5])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return wrote
`);

/** State snapshot. KEYS: 1 state hash. A script, so the reply is a flat array on RESP2 and RESP3 alike. */
const STATE_SNAPSHOT_SCRIPT = luaScript(`return redis.call('HGETALL', KEYS[1])`);

/**
 * A `StateStore` on Redis, shared by every node: per channel one hash key → entry (see
 * `KeySpace`), written by a script that compares offsets and epochs atomically, so the newest
 * publication's document wins whatever order nodes write in. The hash expires `ttlMs` after the
 * last put. Redis failures reject with `TIDINGS_ERR_UNAVAILABLE`; after `close()` every method
 * but `close` rejects with `TIDINGS_ERR_STATE`. `close` releases one use of the connection.
 */
export class RedisStateStore implements StateStore {
  readonly #connection: RedisCommands;
  readonly #keys: KeySpace;
  #closed = false;

  constructor(options: { readonly connection: RedisCommands; readonly keys: KeySpace }) {
    this.#connection = options.connection;
    this.#keys = options.keys;
  }

  async put(channel: string, entry: StateEntry, ttlMs: number): Promise<boolean> {
    this.#assertOpen('put');
    const head = Buffer.from(`${entry.offset}\n${entry.epoch}\n${entry.time}\n`);
    const encoded = Buffer.concat([head, entry.data]);
    const reply = await this.#connection.eval(
      STATE_PUT_SCRIPT,
      [this.#keys.state(channel)],
      [Buffer.from(entry.key), String(entry.offset), entry.epoch, encoded, String(Math.max(0, Math.ceil(ttlMs)))],
    );
    return asNumber(reply) === 1;
  }

  async get(channel: string, key: string): Promise<StateEntry | undefined> {
    this.#assertOpen('get');
    const hash = this.#keys.state(channel);
    const reply = await this.#connection.command(['HGET', hash, Buffer.from(key)], hash);
    if (reply === null || reply === undefined) return undefined;
    return decodeEntry(key, asBuffer(reply));
  }

  async snapshot(channel: string): Promise<StateEntry[]> {
    this.#assertOpen('snapshot');
    const reply = asArray(await this.#connection.eval(STATE_SNAPSHOT_SCRIPT, [this.#keys.state(channel)], []));
    const out: StateEntry[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) out.push(decodeEntry(asText(reply[i]), asBuffer(reply[i + 1])));
    return out.sort((a, b) => a.offset - b.offset);
  }

  async remove(channel: string, key?: string): Promise<void> {
    this.#assertOpen('remove');
    const hash = this.#keys.state(channel);
    await this.#connection.command(key === undefined ? ['UNLINK', hash] : ['HDEL', hash, Buffer.from(key)], hash);
  }

  /** Marks the store closed and releases its use of the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection.close();
  }

  #assertOpen(method: string): void {
    if (this.#closed) throw new TidingsError(TidingsErrorCode.State, `RedisStateStore.${method}: the store is closed`);
  }
}

function decodeEntry(key: string, value: Buffer): StateEntry {
  const a = value.indexOf(10);
  const b = value.indexOf(10, a + 1);
  const c = value.indexOf(10, b + 1);
  if (a < 0 || b < 0 || c < 0) throw new TidingsError(TidingsErrorCode.Unavailable, 'malformed state entry in Redis');
  return {
    key,
    offset: Number(value.toString('latin1', 0, a)),
    epoch: value.toString('utf8', a + 1, b),
    time: Number(value.toString('latin1', b + 1, c)),
    data: new Uint8Array(value.subarray(c + 1)),
  };
}
