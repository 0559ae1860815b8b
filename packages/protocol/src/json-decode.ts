import { TidingsError, TidingsErrorCode } from './errors.js';
import { scanNumber, scanString, scanValue, skipWhitespace } from './json-scan.js';
import {
  type FieldPlan,
  fieldDefault,
  integerRange,
  isEmptyValue,
  type MessagePlan,
  type ScalarKind,
} from './message-plan.js';
import { decodeUtf8Lossy } from './utf8.js';

/**
 * Schema-driven decoder of Centrifuge JSON protocol messages (one JSON object per line).
 *
 * One pass over the UTF-8 bytes builds our plain objects directly: known fields are read with
 * their type checked, unknown fields are validated and skipped (newer SDKs send extra fields),
 * `null` means absent (in byte fields it is the JSON value null). Byte fields (`data`, `conn_info`, `chan_info`) hold embedded JSON: their
 * exact source bytes are copied out (json.RawMessage semantics: numbers beyond 2^53, escapes and
 * key order survive untouched). Any error throws `TidingsError` BadFrame.
 */

function bad(reason: string, pos: number): TidingsError {
  return new TidingsError(TidingsErrorCode.BadFrame, `bad JSON frame: ${reason} at byte ${pos}`);
}

/** Reads protocol messages from `buf[start, end)`. */
class JsonReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  peek(): number {
    this.pos = skipWhitespace(this.buf, this.pos, this.end);
    return this.pos < this.end ? (this.buf[this.pos] as number) : -1;
  }

  expect(c: number, what: string): void {
    if (this.peek() !== c) throw bad(`expected ${what}`, this.pos);
    this.pos++;
  }

  /** Consumes `c` when it is next. */
  accept(c: number): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  acceptNull(): boolean {
    if (this.peek() !== 0x6e) return false;
    if (!this.literal('null')) throw bad('bad literal', this.pos);
    return true;
  }

  string(): string {
    if (this.peek() !== 0x22) throw bad('expected string', this.pos);
    const start = this.pos;
    const stop = scanString(this.buf, start, this.end);
    if (stop < 0) throw bad('malformed string', start);
    this.pos = stop;
    let simple = true;
    for (let i = start + 1; i < stop - 1; i++) {
      const c = this.buf[i] as number;
      if (c >= 0x80 || c === 0x5c) {
        simple = false;
        break;
      }
    }
    // ASCII without escapes. A long one is decoded at once: a 200-character token built with
    // `+=` left ~6 KB of intermediate strings per connect.
    if (simple) return asciiString(this.buf, start + 1, stop - 1);
    // Validated above (escapes, UTF-8), so the native parser only unescapes.
    return JSON.parse(decodeUtf8Lossy(this.buf.subarray(start, stop))) as string;
  }

  bool(): boolean {
    const c = this.peek();
    const p = this.pos;
    if (c === 0x74 && this.literal('true')) return true;
    if (c === 0x66 && this.literal('false')) return false;
    throw bad('expected boolean', p);
  }

  literal(text: string): boolean {
    const p = this.pos;
    if (p + text.length > this.end) return false;
    for (let i = 0; i < text.length; i++) if (this.buf[p + i] !== text.charCodeAt(i)) return false;
    this.pos += text.length;
    return true;
  }

  integer(kind: ScalarKind): number {
    const c = this.peek();
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) throw bad('expected number', this.pos);
    const start = this.pos;
    const stop = scanNumber(this.buf, start, this.end);
    if (stop < 0) throw bad('malformed number', start);
    this.pos = stop;
    const value = Number(decodeUtf8Lossy(this.buf.subarray(start, stop)));
    const [lo, hi] = integerRange(kind);
    if (!Number.isInteger(value) || value < lo || value > hi) throw bad(`${kind} out of range`, start);
    // + 0 turns -0 into 0.
    return value + 0;
  }

  /** A copy of the source bytes of the next JSON value. */
  raw(): Uint8Array {
    const start = skipWhitespace(this.buf, this.pos, this.end);
    const stop = scanValue(this.buf, start, this.end);
    if (stop < 0) throw bad('malformed JSON value', start);
    this.pos = stop;
    return this.buf.slice(start, stop);
  }

  skip(): void {
    const stop = scanValue(this.buf, this.pos, this.end);
    if (stop < 0) throw bad('malformed JSON value', this.pos);
    this.pos = stop;
  }
}

/** Below this many characters, building the string by hand beats a TextDecoder call. */
const shortAscii = 16;

/** `buf[start..stop)`, all bytes below 0x80, as a string. */
function asciiString(buf: Uint8Array, start: number, stop: number): string {
  if (stop - start >= shortAscii) return decodeUtf8Lossy(buf.subarray(start, stop));
  let text = '';
  for (let i = start; i < stop; i++) text += String.fromCharCode(buf[i] as number);
  return text;
}

function readScalar(r: JsonReader, kind: ScalarKind): unknown {
  switch (kind) {
    case 'string':
      return r.string();
    case 'bool':
      return r.bool();
    case 'bytes':
      return r.raw();
    default:
      return r.integer(kind);
  }
}

function readField(r: JsonReader, field: FieldPlan): unknown {
  switch (field.kind) {
    case 'scalar':
      return readScalar(r, field.scalar as ScalarKind);
    case 'message':
      return readMessage(r, field.message as MessagePlan);
    case 'list': {
      const list: unknown[] = [];
      r.expect(0x5b, "'['");
      if (r.accept(0x5d)) return list;
      do list.push(readMessage(r, field.message as MessagePlan));
      while (r.accept(0x2c));
      r.expect(0x5d, "']'");
      return list;
    }
    case 'map': {
      const map: Record<string, unknown> = {};
      r.expect(0x7b, "'{'");
      if (r.accept(0x7d)) return map;
      do {
        const key = r.string();
        r.expect(0x3a, "':'");
        const value = field.message ? readMessage(r, field.message) : readScalar(r, field.scalar as ScalarKind);
        // defineProperty: a "__proto__" key must become data, not the object's prototype.
        Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      } while (r.accept(0x2c));
      r.expect(0x7d, "'}'");
      return map;
    }
  }
}

/** Reads one JSON object as a message of `plan`. */
function readMessage(r: JsonReader, plan: MessagePlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  r.expect(0x7b, "'{'");
  if (!r.accept(0x7d)) {
    do {
      const key = r.string();
      r.expect(0x3a, "':'");
      const field = plan.byName.get(key);
      if (field === undefined) {
        r.skip();
        continue;
      }
      // null means absent, except in byte fields, where it is the embedded JSON value null.
      if (field.scalar !== 'bytes' && r.acceptNull()) {
        delete out[field.local];
        continue;
      }
      const value = readField(r, field);
      if (!field.required && isEmptyValue(field, value)) {
        delete out[field.local];
      } else {
        out[field.local] = value;
      }
    } while (r.accept(0x2c));
    r.expect(0x7d, "'}'");
  }
  for (const f of plan.fields) if (f.required && out[f.local] === undefined) out[f.local] = fieldDefault(f);
  return out;
}

/**
 * Decodes newline-separated JSON objects of type `plan` from `frame`. Blank lines (and a trailing
 * newline) are skipped, as the Centrifuge SDKs do.
 */
export function decodeJsonLines(frame: Uint8Array, plan: MessagePlan): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const end = frame.length;
  let start = 0;
  while (start < end) {
    let stop = frame.indexOf(0x0a, start);
    if (stop < 0) stop = end;
    if (skipWhitespace(frame, start, stop) < stop) out.push(decodeJsonObject(frame, plan, start, stop));
    start = stop + 1;
  }
  return out;
}

/** Decodes exactly one JSON object of type `plan` from `bytes[start, end)` (whitespace around it allowed). */
export function decodeJsonObject(
  bytes: Uint8Array,
  plan: MessagePlan,
  start = 0,
  end = bytes.length,
): Record<string, unknown> {
  const r = new JsonReader(bytes, start, end);
  if (r.peek() !== 0x7b) throw bad('expected a JSON object', r.pos);
  const message = readMessage(r, plan);
  if (r.peek() !== -1) throw bad('trailing data after object', r.pos);
  return message;
}
