import { compactJson, jsonShape } from './json-scan.js';
import { type FieldPlan, isEmptyValue, type MessagePlan, type ScalarKind } from './message-plan.js';
import { commitBytes, reserveBytes } from './slab.js';
import { decodeUtf8Lossy, encodeUtf8 } from './utf8.js';

const utf8 = new TextEncoder();

/**
 * Schema-driven encoder of Centrifuge JSON protocol messages.
 *
 * Output is compact JSON with snake_case names in .proto order. Optional fields equal to the
 * protocol default are omitted (as Centrifugo does); required ones (see message-plan.ts) are
 * always written. Byte fields are embedded JSON and spliced in verbatim, copied once into the
 * output; bytes that are not one valid JSON value are written as a JSON string of their UTF-8
 * text (invalid sequences become U+FFFD), so a frame is never corrupted, and valid JSON holding
 * line breaks between tokens is compacted so the newline-delimited batch stays intact.
 */

/** Text with spliced byte chunks, assembled into one buffer at the end. */
class JsonWriter {
  #text = '';
  readonly #chunks: Array<Uint8Array | string> = [];
  #size = 0;

  text(s: string): void {
    this.#text += s;
  }

  bytes(b: Uint8Array): void {
    if (this.#text !== '') {
      this.#chunks.push(this.#text);
      this.#size += this.#text.length * 3;
      this.#text = '';
    }
    this.#chunks.push(b);
    this.#size += b.length;
  }

  finish(): Uint8Array {
    if (this.#text !== '') {
      this.#chunks.push(this.#text);
      this.#size += this.#text.length * 3;
      this.#text = '';
    }
    const out = reserveBytes(this.#size);
    if (out !== undefined) {
      let pos = 0;
      for (const chunk of this.#chunks) {
        if (typeof chunk === 'string') pos += utf8.encodeInto(chunk, out.subarray(pos)).written;
        else {
          out.set(chunk, pos);
          pos += chunk.length;
        }
      }
      commitBytes(pos);
      return out.subarray(0, pos);
    }
    return this.#finishLarge();
  }

  #finishLarge(): Uint8Array {
    for (let i = 0; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i];
      if (typeof chunk === 'string') this.#chunks[i] = encodeUtf8(chunk);
    }
    let size = 0;
    for (const chunk of this.#chunks) size += chunk.length;
    const out = new Uint8Array(size);
    let pos = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk as Uint8Array, pos);
      pos += (chunk as Uint8Array).length;
    }
    return out;
  }
}

function writeRaw(w: JsonWriter, bytes: Uint8Array): void {
  const shape = jsonShape(bytes);
  if (shape === 'valid') w.bytes(bytes);
  else if (shape === 'multiline') w.bytes(compactJson(bytes));
  else w.text(JSON.stringify(decodeUtf8Lossy(bytes)));
}

function writeNumber(w: JsonWriter, value: number, field: string): void {
  // A NaN or Infinity would produce invalid JSON for every receiver of this frame.
  if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${field}: ${value} is not a finite number`);
  w.text(String(value));
}

function writeScalar(w: JsonWriter, kind: ScalarKind, value: unknown, field: string): void {
  switch (kind) {
    case 'string':
      w.text(JSON.stringify(value));
      break;
    case 'bool':
      w.text(value ? 'true' : 'false');
      break;
    case 'bytes':
      writeRaw(w, value as Uint8Array);
      break;
    default:
      writeNumber(w, value as number, field);
  }
}

function writeField(w: JsonWriter, field: FieldPlan, value: unknown): void {
  switch (field.kind) {
    case 'scalar':
      writeScalar(w, field.scalar as ScalarKind, value, field.name);
      break;
    case 'message':
      writeMessage(w, field.message as MessagePlan, value as Record<string, unknown>);
      break;
    case 'list': {
      w.text('[');
      let first = true;
      for (const item of value as readonly Record<string, unknown>[]) {
        if (!first) w.text(',');
        first = false;
        writeMessage(w, field.message as MessagePlan, item);
      }
      w.text(']');
      break;
    }
    case 'map': {
      w.text('{');
      let first = true;
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        w.text(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
        first = false;
        if (field.message) writeMessage(w, field.message, item as Record<string, unknown>);
        else writeScalar(w, field.scalar as ScalarKind, item, field.name);
      }
      w.text('}');
      break;
    }
  }
}

function omitted(field: FieldPlan, value: unknown): boolean {
  if (value === undefined) return true;
  // Empty bytes have no JSON form: omitted even when required (decoders restore the default).
  if (field.scalar === 'bytes' && field.kind === 'scalar') return (value as Uint8Array).length === 0;
  return !field.required && isEmptyValue(field, value);
}

function writeMessage(w: JsonWriter, plan: MessagePlan, message: Record<string, unknown>): void {
  let sep = '{';
  for (const field of plan.fields) {
    const value = message[field.local];
    if (omitted(field, value)) continue;
    w.text(`${sep}"${field.name}":`);
    sep = ',';
    writeField(w, field, value);
  }
  w.text(sep === '{' ? '{}' : '}');
}

/** Encodes `message` (of type `plan`) as one compact JSON object in UTF-8. */
export function encodeJsonMessage(plan: MessagePlan, message: object): Uint8Array {
  const w = new JsonWriter();
  writeMessage(w, plan, message as Record<string, unknown>);
  return w.finish();
}
