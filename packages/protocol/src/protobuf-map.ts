import { TidingsError, TidingsErrorCode } from './errors.js';
import {
  type FieldPlan,
  fieldDefault,
  isScalarDefault,
  type MessagePlan,
  type ScalarKind,
  scalarDefault,
} from './message-plan.js';

/**
 * Conversion between our plain objects (messages.ts) and protobuf-es message shapes, driven by
 * the message plans. protobuf-es types 64-bit integers as bigint (it ignores jstype JS_NUMBER);
 * ours are JS numbers, so they are converted here and a decoded value above 2^53 - 1 is a bad
 * frame. Decoded byte fields are copies: protobuf-es returns views of the frame, and keeping a
 * view would pin the whole network buffer in memory for as long as, say, history keeps the data.
 */

function isLong(kind: ScalarKind | undefined): boolean {
  return kind === 'uint64' || kind === 'int64';
}

function scalarToPb(kind: ScalarKind, value: unknown): unknown {
  return isLong(kind) ? BigInt(value as number) : value;
}

function fieldToPb(field: FieldPlan, value: unknown): unknown {
  switch (field.kind) {
    case 'scalar':
      return scalarToPb(field.scalar as ScalarKind, value);
    case 'message':
      return toPbShape(field.message as MessagePlan, value as Record<string, unknown>);
    case 'list':
      return (value as readonly Record<string, unknown>[]).map((m) => toPbShape(field.message as MessagePlan, m));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const converted = field.message
          ? toPbShape(field.message, item as Record<string, unknown>)
          : scalarToPb(field.scalar as ScalarKind, item);
        Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

function pbDefault(field: FieldPlan): unknown {
  switch (field.kind) {
    case 'scalar':
      return isLong(field.scalar) ? 0n : scalarDefault(field.scalar as ScalarKind);
    case 'list':
      return [];
    case 'map':
      return {};
    case 'message':
      return undefined;
  }
}

/**
 * The complete protobuf-es shape (`$typeName` and every field) of a plain message, ready for
 * `toBinary`. Built in one pass, so `create()` is not needed.
 */
export function toPbShape(plan: MessagePlan, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { $typeName: plan.typeName };
  for (const field of plan.fields) {
    const value = message[field.local];
    if (value !== undefined) out[field.local] = fieldToPb(field, value);
    else if (field.kind !== 'message') out[field.local] = pbDefault(field);
  }
  return out;
}

function scalarFromPb(kind: ScalarKind, value: unknown, where: string): unknown {
  if (isLong(kind)) {
    const big = value as bigint;
    if (big > 9007199254740991n || big < -9007199254740991n) {
      throw new TidingsError(TidingsErrorCode.BadFrame, `bad protobuf frame: ${where} exceeds 2^53 - 1`);
    }
    return Number(big);
  }
  if (kind === 'bytes') return (value as Uint8Array).slice();
  return value;
}

function isEmptyPb(field: FieldPlan, value: unknown): boolean {
  switch (field.kind) {
    case 'scalar':
      return isLong(field.scalar) ? value === 0n : isScalarDefault(field.scalar as ScalarKind, value);
    case 'list':
      return (value as readonly unknown[]).length === 0;
    case 'map':
      return Object.keys(value as object).length === 0;
    case 'message':
      return value === undefined;
  }
}

function fieldFromPb(field: FieldPlan, value: unknown): unknown {
  switch (field.kind) {
    case 'scalar':
      return scalarFromPb(field.scalar as ScalarKind, value, field.name);
    case 'message':
      return fromPbShape(field.message as MessagePlan, value as Record<string, unknown>);
    case 'list':
      return (value as readonly Record<string, unknown>[]).map((m) => fromPbShape(field.message as MessagePlan, m));
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const converted = field.message
          ? fromPbShape(field.message, item as Record<string, unknown>)
          : scalarFromPb(field.scalar as ScalarKind, item, field.name);
        Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/**
 * Our canonical plain object for a decoded protobuf-es message: required fields always set,
 * optional ones only when they differ from the protocol default.
 */
export function fromPbShape(plan: MessagePlan, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    const value = message[field.local];
    if (!isEmptyPb(field, value)) out[field.local] = fieldFromPb(field, value);
    else if (field.required) out[field.local] = fieldDefault(field);
  }
  return out;
}
