import type { ClientCodec, Command, Publication, Reply } from '@tidings/protocol';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The parsed payload of a publication decoded by {@link lightJsonCodec}, read by the subscription. */
export const parsedData: unique symbol = Symbol.for('tidings.parsedData');

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (key: string) => (key.includes('_') ? key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) : key);

function toWire(value: unknown, raws: string[]): unknown {
  if (value instanceof Uint8Array) {
    // Byte fields hold embedded JSON: a placeholder now, replaced by the raw text after stringify.
    raws.push(value.length === 0 ? 'null' : text.decode(value));
    return `\u0000${raws.length - 1}\u0000`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[snake(k)] = toWire(v, raws);
  return out;
}

/** A publication whose payload was parsed once; the `data` bytes are made on first read. */
class LazyPublication {
  readonly [parsedData]: unknown;
  offset?: number;
  tags?: Record<string, string>;
  info?: Publication['info'];
  #bytes: Uint8Array | undefined;
  constructor(value: unknown) {
    this[parsedData] = value === undefined ? null : value;
  }
  get data(): Uint8Array {
    const value = this[parsedData];
    this.#bytes ??= utf8.encode(value === null ? '' : JSON.stringify(value));
    return this.#bytes;
  }
}

function publication(wire: Record<string, unknown>): Publication {
  const pub = new LazyPublication(wire.data);
  if (typeof wire.offset === 'number') pub.offset = wire.offset;
  if (wire.tags !== undefined && wire.tags !== null) pub.tags = wire.tags as Record<string, string>;
  if (wire.info !== undefined && wire.info !== null) pub.info = fromWire(wire.info) as Publication['info'];
  return pub as Publication;
}

function fromWire(value: unknown, key = ''): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    return key === 'publications'
      ? value.map((p) => publication(p as Record<string, unknown>))
      : value.map((v) => fromWire(v));
  }
  const wire = value as Record<string, unknown>;
  if (key === 'pub') return publication(wire);
  const out: Record<string, unknown> = {};
  for (const k in wire) {
    const v = wire[k];
    if (v !== null) out[camel(k)] = k === 'data' ? utf8.encode(JSON.stringify(v)) : fromWire(v, k);
  }
  return out;
}

/**
 * A small JSON codec for the client: `JSON.parse` once per line, publications keep the parsed
 * payload (the subscription hands it to the application as is; the `bytes` of a publication are
 * its payload serialised again, made only when read). Commands are written with
 * `JSON.stringify`, byte fields (`data`) embedded as the raw JSON they hold. Wire-compatible with
 * `@tidings/protocol`'s `jsonCodec` for what the client sends and reads, at a fraction of its size
 * (that one is driven by the Protobuf descriptors and keeps payload bytes exact: big integers,
 * key order). Use that one where the exact bytes matter.
 */
export const lightJsonCodec: ClientCodec = {
  name: 'json',
  binary: false,
  encodeCommands(commands: readonly Command[]): Uint8Array {
    const raws: string[] = [];
    const lines = commands.map((c) => JSON.stringify(toWire(c, raws)));
    const joined = lines.join('\n');
    return utf8.encode(
      raws.length === 0
        ? joined
        : joined.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)] as string),
    );
  },
  decodeReplies(frame: Uint8Array): Reply[] {
    const replies: Reply[] = [];
    for (const line of text.decode(frame).split('\n')) {
      if (line.trim() === '') continue;
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError('bad JSON reply');
      const push = (value as { push?: { channel?: string; pub?: Record<string, unknown> | null } }).push;
      // The hot path: a publication push.
      if (push?.pub != null && typeof push.channel === 'string') {
        replies.push({ push: { channel: push.channel, pub: publication(push.pub) } });
        continue;
      }
      replies.push(fromWire(value) as Reply);
    }
    return replies;
  },
};
