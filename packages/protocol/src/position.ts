import { TidingsError, TidingsErrorCode } from './errors.js';
import type { StreamPosition } from './messages.js';
import { decodeUtf8Strict, encodeUtf8 } from './utf8.js';
import { type ReadCursor, readVarint, varintSize, writeVarint } from './varint.js';

/**
 * Stream positions as text, for one-way transports (SSE `id:`, polling, NDJSON):
 * - one channel: `<epoch>.<offset>`, e.g. `Xy3_kQ.42`;
 * - several channels: a cursor, the base64url (no padding) of a compact binary list of
 *   (channel, epoch, offset), sorted by channel so equal cursors are equal strings.
 * Epochs are short url-safe strings (`[A-Za-z0-9_-]`, at most 64 characters). Malformed input
 * throws `TidingsError` BadCursor.
 */

/** Longest cursor token `decodeCursor` accepts, in characters. */
export const maxCursorLength = 65_536;

/** Longest epoch accepted in positions and cursors. */
export const maxEpochLength = 64;

const cursorVersion = 1;
const epochPattern = /^[A-Za-z0-9_-]*$/;
const offsetPattern = /^(0|[1-9][0-9]{0,15})$/;

function badCursor(reason: string): TidingsError {
  return new TidingsError(TidingsErrorCode.BadCursor, `bad cursor: ${reason}`);
}

function checkEpoch(epoch: string): void {
  if (epoch.length > maxEpochLength || !epochPattern.test(epoch)) {
    throw badCursor(`epoch ${JSON.stringify(epoch.slice(0, 80))} is not a url-safe string of at most 64 characters`);
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw badCursor(`offset ${offset} is not a safe non-negative integer`);
}

/** `<epoch>.<offset>`. Throws BadCursor for an epoch that is not url-safe or a bad offset. */
export function formatPosition(position: StreamPosition): string {
  checkEpoch(position.epoch);
  checkOffset(position.offset);
  return `${position.epoch}.${position.offset}`;
}

/** Parses `<epoch>.<offset>` (canonical decimal offset, no leading zeros). Throws BadCursor. */
export function parsePosition(text: string): StreamPosition {
  const dot = text.lastIndexOf('.');
  if (dot < 0) throw badCursor('a position is <epoch>.<offset>');
  const epoch = text.slice(0, dot);
  const digits = text.slice(dot + 1);
  checkEpoch(epoch);
  if (!offsetPattern.test(digits)) throw badCursor(`offset ${JSON.stringify(digits.slice(0, 40))} is not a decimal`);
  const offset = Number(digits);
  checkOffset(offset);
  return { offset, epoch };
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const alphabetIndex = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) alphabetIndex[alphabet.charCodeAt(i)] = i;

/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += alphabet[n >> 18] + (alphabet[(n >> 12) & 63] as string) + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += (alphabet[n >> 18] as string) + alphabet[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += (alphabet[n >> 18] as string) + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63];
  }
  return out;
}

/** Decodes unpadded base64url; undefined for any other character, a bad length or non-zero spare bits. */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let pos = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (alphabetIndex[c] as number) : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[pos++] = (acc >> bits) & 0xff;
    }
  }
  // Spare bits must be zero, so every byte string has exactly one token.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/**
 * A compact url-safe token of the positions of several channels (base64url of: version byte,
 * count, then per channel sorted by name: UTF-8 name, epoch, offset; lengths and offsets as
 * varints). Throws BadCursor for an epoch that is not url-safe or a bad offset.
 */
export function encodeCursor(positions: Readonly<Record<string, StreamPosition>>): string {
  const channels = Object.keys(positions).sort();
  const entries = channels.map((channel) => {
    const position = positions[channel] as StreamPosition;
    checkEpoch(position.epoch);
    checkOffset(position.offset);
    return { name: encodeUtf8(channel), epoch: position.epoch, offset: position.offset };
  });
  let size = 1 + varintSize(entries.length);
  for (const e of entries) {
    size += varintSize(e.name.length) + e.name.length + varintSize(e.epoch.length) + e.epoch.length;
    size += varintSize(e.offset);
  }
  const out = new Uint8Array(size);
  out[0] = cursorVersion;
  let pos = writeVarint(out, 1, entries.length);
  for (const e of entries) {
    pos = writeVarint(out, pos, e.name.length);
    out.set(e.name, pos);
    pos = writeVarint(out, pos + e.name.length, e.epoch.length);
    for (let i = 0; i < e.epoch.length; i++) out[pos++] = e.epoch.charCodeAt(i);
    pos = writeVarint(out, pos, e.offset);
  }
  return toBase64Url(out);
}

function readField(bytes: Uint8Array, cursor: ReadCursor, what: string): Uint8Array {
  const length = readVarint(bytes, bytes.length, cursor);
  if (Number.isNaN(length) || length > bytes.length - cursor.pos) throw badCursor(`truncated ${what}`);
  const field = bytes.subarray(cursor.pos, cursor.pos + length);
  cursor.pos += length;
  return field;
}

/** Decodes a token of `encodeCursor`. Throws BadCursor for anything else. */
export function decodeCursor(token: string): Record<string, StreamPosition> {
  if (token.length > maxCursorLength) throw badCursor(`longer than ${maxCursorLength} characters`);
  const bytes = fromBase64Url(token);
  if (bytes === undefined) throw badCursor('not base64url');
  if (bytes[0] !== cursorVersion) throw badCursor('unknown version');
  const cursor: ReadCursor = { pos: 1 };
  const count = readVarint(bytes, bytes.length, cursor);
  // Each entry takes at least 3 bytes, which bounds the count before anything is allocated.
  if (Number.isNaN(count) || count * 3 > bytes.length - cursor.pos) throw badCursor('bad channel count');
  const out: Record<string, StreamPosition> = {};
  let previous: string | undefined;
  for (let i = 0; i < count; i++) {
    let channel: string;
    try {
      channel = decodeUtf8Strict(readField(bytes, cursor, 'channel'));
    } catch (err) {
      if (err instanceof TidingsError) throw err;
      throw badCursor('channel is not UTF-8');
    }
    if (previous !== undefined && !(channel > previous)) throw badCursor('channels not sorted or duplicated');
    previous = channel;
    const epoch = String.fromCharCode(...readField(bytes, cursor, 'epoch'));
    checkEpoch(epoch);
    const offset = readVarint(bytes, bytes.length, cursor);
    if (Number.isNaN(offset)) throw badCursor('truncated offset');
    Object.defineProperty(out, channel, {
      value: { offset, epoch },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (cursor.pos !== bytes.length) throw badCursor('trailing bytes');
  return out;
}
