import {
  type Codec,
  type Command,
  isValidJson,
  jsonCodec,
  type Push,
  type Reply,
  TidingsError,
  TidingsErrorCode,
} from '@tidings/protocol';

/**
 * The codec of one-way transports (SSE, NDJSON streams). Its units are internal records that a
 * `OneWayTransport` turns into events; they never leave the process.
 *
 * - A publication push becomes a *publication record*: channel, offset, and the payload as one
 *   line of valid JSON (payloads that are not JSON, or JSON spread over several lines, are
 *   normalized exactly as the JSON protocol codec does), so the transport only adds the
 *   per-subscriber cursor and never parses or re-serializes the payload. The record is encoded
 *   once per publication and shared by every one-way subscriber (see `EncodedPush`).
 * - Everything else (connect and subscribe replies, unsubscribe/join/leave pushes, errors) is rare
 *   and becomes a *control record* holding the JSON protocol encoding of the reply.
 *
 * Records are self-delimiting, so `join` concatenates. `decodeCommands` always throws: a one-way
 * peer cannot send commands.
 */
export const oneWayCodec: Codec = Object.freeze({
  // Control records are JSON protocol replies; the name only matters for logs.
  name: 'json' as const,
  binary: true,
  decodeCommands(_frame: Uint8Array): Command[] {
    throw new TidingsError(TidingsErrorCode.BadFrame, 'a one-way transport accepts no commands');
  },
  encodeReply(reply: Reply): Uint8Array {
    if (reply.push !== undefined && reply.id === undefined) return encodePush(reply.push);
    return controlRecord(jsonCodec.encodeReply(reply));
  },
  encodePush,
  join(units: readonly Uint8Array[]): Uint8Array {
    return Buffer.concat(units);
  },
});

const controlKind = 1;
const publicationKind = 2;
const newline = 0x0a;
const carriageReturn = 0x0d;

function encodePush(push: Push): Uint8Array {
  const pub = push.pub;
  if (pub === undefined || push.channel === undefined) return controlRecord(jsonCodec.encodePush(push));
  const channel = Buffer.from(push.channel, 'utf8');
  const data = singleLineJson(push.channel, pub.data);
  const tags = pub.tags !== undefined && Object.keys(pub.tags).length > 0 ? `,"tags":${JSON.stringify(pub.tags)}` : '';
  // A state subscriber that asked for ?delta=merge-patch: data patches the key's last document.
  const extras = pub.delta === true ? `${tags},"delta":"merge-patch"` : tags;
  const extraBytes = Buffer.from(extras, 'utf8');
  const out = Buffer.allocUnsafe(1 + 4 + channel.length + 8 + 4 + data.length + 4 + extraBytes.length);
  let pos = out.writeUInt8(publicationKind, 0);
  pos = out.writeUInt32BE(channel.length, pos);
  pos += channel.copy(out, pos);
  pos = out.writeDoubleBE(pub.offset ?? 0, pos);
  pos = out.writeUInt32BE(data.length, pos);
  out.set(data, pos);
  pos += data.length;
  pos = out.writeUInt32BE(extraBytes.length, pos);
  extraBytes.copy(out, pos);
  return out;
}

function controlRecord(json: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(5 + json.length);
  out.writeUInt8(controlKind, 0);
  out.writeUInt32BE(json.length, 1);
  out.set(json, 5);
  return out;
}

const jsonNull = Buffer.from('null');

/**
 * The payload as one line of JSON: verbatim when it already is, else as the JSON codec writes
 * it; an empty payload (which the JSON protocol omits) is `null`.
 */
function singleLineJson(channel: string, data: Uint8Array): Uint8Array {
  if (data.length === 0) return jsonNull;
  if (isValidJson(data) && data.indexOf(newline) === -1 && data.indexOf(carriageReturn) === -1) return data;
  const [reply] = jsonCodec.decodeReplies(jsonCodec.encodePush({ channel, pub: { data } }));
  const normalized = reply?.push?.pub?.data;
  return normalized === undefined || normalized.length === 0 ? jsonNull : normalized;
}

/** One decoded record of a one-way unit. */
export type OneWayRecord =
  | { readonly kind: 'control'; readonly reply: Reply }
  | {
      readonly kind: 'publication';
      readonly channel: string;
      readonly offset: number;
      /** One line of valid JSON. */
      readonly data: Uint8Array;
      /** Extra JSON members, each starting with a comma (e.g. `,"tags":{...}`), or "". */
      readonly extras: string;
    };

/**
 * Splits a frame written by a session using `oneWayCodec` into its records, in order.
 * Throws on bytes that `oneWayCodec` did not produce (a programming error).
 */
export function decodeOneWayRecords(frame: Uint8Array): OneWayRecord[] {
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: OneWayRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const kind = buf.readUInt8(pos);
    if (kind === controlKind) {
      const length = buf.readUInt32BE(pos + 1);
      const json = buf.subarray(pos + 5, pos + 5 + length);
      for (const reply of jsonCodec.decodeReplies(json)) out.push({ kind: 'control', reply });
      pos += 5 + length;
      continue;
    }
    if (kind !== publicationKind) throw new TidingsError(TidingsErrorCode.BadFrame, `unknown one-way record ${kind}`);
    const channelLength = buf.readUInt32BE(pos + 1);
    pos += 5;
    const channel = buf.toString('utf8', pos, pos + channelLength);
    pos += channelLength;
    const offset = buf.readDoubleBE(pos);
    const dataLength = buf.readUInt32BE(pos + 8);
    pos += 12;
    const data = buf.subarray(pos, pos + dataLength);
    pos += dataLength;
    const extrasLength = buf.readUInt32BE(pos);
    pos += 4;
    const extras = buf.toString('utf8', pos, pos + extrasLength);
    pos += extrasLength;
    out.push({ kind: 'publication', channel, offset, data, extras });
  }
  return out;
}
