import { Packr, Unpackr } from 'msgpackr';
import { concatBytes } from './bytes.js';
import type { ClientCodec, Codec } from './codec.js';
import { isTidingsError, TidingsError, TidingsErrorCode } from './errors.js';
import { CommandSchema, ReplySchema } from './gen/client_pb.js';
import {
  type FieldPlan,
  fieldDefault,
  integerRange,
  isEmptyValue,
  type MessagePlan,
  planOf,
  type ScalarKind,
} from './message-plan.js';
import type { Command, Push, Reply } from './messages.js';

const commandPlan = planOf(CommandSchema);
const replyPlan = planOf(ReplySchema);

// variableMapSize: the smallest map header (msgpackr otherwise writes map16 for speed).
// useRecords: false keeps the output plain MessagePack maps any decoder reads (msgpackr's records
// are an extension only msgpackr understands). A uint64/int64 from another encoder decodes as a
// bigint, turned into a number below when it is a safe integer.
const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

function bad(reason: string, cause?: unknown): TidingsError {
  return new TidingsError(TidingsErrorCode.BadFrame, `bad MessagePack frame: ${reason}`, { cause });
}

/** Our plain message as a MessagePack-ready object with wire (snake_case) names, defaults left out. */
function toWire(plan: MessagePlan, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of plan.fields) {
    const value = message[f.local];
    if (value === undefined || (!f.required && isEmptyValue(f, value))) continue;
    out[f.name] = fieldToWire(f, value);
  }
  return out;
}

function fieldToWire(f: FieldPlan, value: unknown): unknown {
  switch (f.kind) {
    case 'scalar':
      return value;
    case 'message':
      return toWire(f.message as MessagePlan, value as Record<string, unknown>);
    case 'list':
      return (value as Record<string, unknown>[]).map((m) => toWire(f.message as MessagePlan, m));
    case 'map': {
      if (f.message === undefined) return value;
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        Object.defineProperty(map, k, {
          value: toWire(f.message, v as Record<string, unknown>),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return map;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function scalarFromWire(kind: ScalarKind, value: unknown, where: string): unknown {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw bad(`${where}: expected a string`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw bad(`${where}: expected a boolean`);
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw bad(`${where}: expected bin`);
      // A copy: msgpackr returns views of the frame, which the transport may reuse.
      return new Uint8Array(value);
    default: {
      const [lo, hi] = integerRange(kind);
      if (typeof value === 'bigint' && value >= BigInt(lo) && value <= BigInt(hi)) return Number(value);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
        throw bad(`${where}: expected ${kind}`);
      }
      return value + 0;
    }
  }
}

function fieldFromWire(f: FieldPlan, value: unknown, where: string): unknown {
  switch (f.kind) {
    case 'scalar':
      return scalarFromWire(f.scalar as ScalarKind, value, where);
    case 'message':
      return fromWire(f.message as MessagePlan, value, where);
    case 'list': {
      if (!Array.isArray(value)) throw bad(`${where}: expected an array`);
      return value.map((m, i) => fromWire(f.message as MessagePlan, m, `${where}[${i}]`));
    }
    case 'map': {
      if (!isPlainObject(value)) throw bad(`${where}: expected a map`);
      const map: Record<string, unknown> = {};
      for (const k of Object.keys(value)) {
        const v = value[k];
        const item =
          f.message !== undefined
            ? fromWire(f.message, v, `${where}.${k}`)
            : scalarFromWire(f.scalar as ScalarKind, v, where);
        // defineProperty: a "__proto__" key must become data, not the object's prototype.
        Object.defineProperty(map, k, { value: item, enumerable: true, writable: true, configurable: true });
      }
      return map;
    }
  }
}

/** A decoded MessagePack map as a canonical message of `plan` (same rules as the JSON decoder). */
function fromWire(plan: MessagePlan, value: unknown, where: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw bad(`${where}: expected a map`);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const f = plan.byName.get(key);
    const v = value[key];
    // Unknown fields are skipped (newer SDKs send more); nil means absent.
    if (f === undefined || v === null || v === undefined) continue;
    const decoded = fieldFromWire(f, v, `${where}.${key}`);
    if (f.required || !isEmptyValue(f, decoded)) out[f.local] = decoded;
  }
  for (const f of plan.fields) if (f.required && out[f.local] === undefined) out[f.local] = fieldDefault(f);
  return out;
}

function decodeValues(frame: Uint8Array, plan: MessagePlan): Record<string, unknown>[] {
  if (frame.length === 0) return [];
  let values: unknown[];
  try {
    values = unpackr.unpackMultiple(frame) as unknown[];
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err), err);
  }
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < values.length; i++) {
    try {
      out.push(fromWire(plan, values[i], `value ${i}`));
    } catch (err) {
      if (isTidingsError(err)) throw err;
      throw bad(`unconvertible value ${i}`, err);
    }
  }
  return out;
}

function encodeValue(plan: MessagePlan, message: object): Uint8Array {
  return packr.pack(toWire(plan, message as Record<string, unknown>));
}

/**
 * The Centrifuge protocol messages in MessagePack (WebSocket subprotocol `tidings-msgpack`, binary
 * frames): each unit is one MessagePack map with the JSON protocol's snake_case field names and
 * defaults left out; byte fields (`data`, `conn_info`, `chan_info`) are MessagePack bin, so any
 * payload travels as is, with no JSON validation or escaping. MessagePack values delimit
 * themselves, so a batch is a plain concatenation. An empty map is the ping (reply) and the pong
 * (command).
 *
 * Decoding accepts any integer encoding within the field's range (uint64 included), nil as
 * absent, and skips unknown keys; anything else throws `TidingsError` BadFrame. Decoded byte
 * fields are copies, not views of the frame.
 */
export const msgpackCodec: Codec & ClientCodec = {
  name: 'msgpack',
  binary: true,
  decodeCommands(frame: Uint8Array): Command[] {
    return decodeValues(frame, commandPlan) as Command[];
  },
  encodeReply(reply: Reply): Uint8Array {
    return encodeValue(replyPlan, reply);
  },
  encodePush(push: Push): Uint8Array {
    return encodeValue(replyPlan, { push });
  },
  join: concatBytes,
  encodeCommands(commands: readonly Command[]): Uint8Array {
    return concatBytes(commands.map((command) => encodeValue(commandPlan, command)));
  },
  decodeReplies(frame: Uint8Array): Reply[] {
    return decodeValues(frame, replyPlan) as Reply[];
  },
};
