import { type DescField, type DescMessage, ScalarType } from '@bufbuild/protobuf';

/**
 * Walkable plans of the protocol messages, compiled once from the generated protobuf descriptors
 * (src/gen/client_pb.ts), so the .proto stays the single source of field names, numbers and types
 * for both codecs.
 *
 * Property names of our plain objects (messages.ts) are the descriptors' `localName`s (camelCase);
 * JSON wire names are the proto names (snake_case). A field is *required* when messages.ts types
 * it as non-optional: decoders always set it (to the protocol default when absent), the JSON
 * encoder always writes it (Centrifugo does the same for these fields, and the SDKs read them
 * without a fallback, e.g. `num_clients`). Other fields are set only when they differ from the
 * protocol default, so a decoded message is canonical.
 */

/** Scalar kinds of the protocol; 64-bit integers are JS numbers limited to the safe range. */
export type ScalarKind = 'string' | 'bool' | 'uint32' | 'int32' | 'uint64' | 'int64' | 'bytes';

/** One field of a message plan. */
export interface FieldPlan {
  /** Wire (JSON) name, snake_case. */
  readonly name: string;
  /** Property name in messages.ts, camelCase. */
  readonly local: string;
  readonly kind: 'scalar' | 'message' | 'list' | 'map';
  /** Scalar type of a scalar field, or of the values of a map of scalars. */
  readonly scalar: ScalarKind | undefined;
  /** Message type of a message field, a list of messages, or the values of a map of messages. */
  readonly message: MessagePlan | undefined;
  readonly required: boolean;
}

/** A message type: its fields in declaration order and an index by wire name. */
export interface MessagePlan {
  readonly typeName: string;
  readonly fields: readonly FieldPlan[];
  readonly byName: ReadonlyMap<string, FieldPlan>;
}

const pkg = 'centrifugal.centrifuge.protocol.';

// Fields that messages.ts declares non-optional, by message type.
const required: Readonly<Record<string, readonly string[]>> = {
  Error: ['code', 'message'],
  ClientInfo: ['user', 'client'],
  Publication: ['data'],
  Join: ['info'],
  Leave: ['info'],
  Unsubscribe: ['code', 'reason'],
  Message: ['data'],
  Connect: ['client'],
  Disconnect: ['code', 'reason'],
  ConnectResult: ['client'],
  RefreshResult: ['client'],
  RefreshRequest: ['token'],
  SubRefreshRequest: ['channel', 'token'],
  UnsubscribeRequest: ['channel'],
  PublishRequest: ['channel', 'data'],
  PresenceRequest: ['channel'],
  PresenceResult: ['presence'],
  PresenceStatsRequest: ['channel'],
  PresenceStatsResult: ['numClients', 'numUsers'],
  StreamPosition: ['offset', 'epoch'],
  HistoryRequest: ['channel'],
  HistoryResult: ['publications', 'epoch', 'offset'],
  SendRequest: ['data'],
};

const scalarKinds: Partial<Record<ScalarType, ScalarKind>> = {
  [ScalarType.STRING]: 'string',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.INT32]: 'int32',
  [ScalarType.UINT64]: 'uint64',
  [ScalarType.INT64]: 'int64',
  [ScalarType.BYTES]: 'bytes',
};

const plans = new Map<string, MessagePlan>();

function scalarKind(type: ScalarType, where: string): ScalarKind {
  const kind = scalarKinds[type];
  if (kind === undefined) throw new Error(`message-plan: unsupported scalar type ${type} in ${where}`);
  return kind;
}

function fieldPlan(field: DescField, requiredHere: readonly string[]): FieldPlan {
  const where = `${field.parent.typeName}.${field.name}`;
  const base = { name: field.name, local: field.localName, required: requiredHere.includes(field.localName) };
  switch (field.fieldKind) {
    case 'scalar':
      return { ...base, kind: 'scalar', scalar: scalarKind(field.scalar, where), message: undefined };
    case 'message':
      return { ...base, kind: 'message', scalar: undefined, message: planOf(field.message) };
    case 'list':
      if (field.listKind !== 'message') throw new Error(`message-plan: unsupported list in ${where}`);
      return { ...base, kind: 'list', scalar: undefined, message: planOf(field.message) };
    case 'map':
      if (field.mapKey !== ScalarType.STRING) throw new Error(`message-plan: non-string map key in ${where}`);
      if (field.mapKind === 'message')
        return { ...base, kind: 'map', scalar: undefined, message: planOf(field.message) };
      if (field.mapKind === 'scalar') {
        return { ...base, kind: 'map', scalar: scalarKind(field.scalar, where), message: undefined };
      }
      throw new Error(`message-plan: unsupported map in ${where}`);
    case 'enum':
      throw new Error(`message-plan: unsupported enum in ${where}`);
  }
}

/** The plan of a message type (compiled on first use, cached; handles recursive types). */
export function planOf(desc: DescMessage): MessagePlan {
  const cached = plans.get(desc.typeName);
  if (cached !== undefined) return cached;
  const fields: FieldPlan[] = [];
  const byName = new Map<string, FieldPlan>();
  const plan: MessagePlan = { typeName: desc.typeName, fields, byName };
  plans.set(desc.typeName, plan);
  const requiredHere = required[desc.typeName.slice(pkg.length)] ?? [];
  for (const field of desc.fields) {
    const f = fieldPlan(field, requiredHere);
    fields.push(f);
    byName.set(f.name, f);
  }
  return plan;
}

const emptyBytes = new Uint8Array(0);

/** The protocol default of a scalar kind (a shared empty array for bytes: never mutate it). */
export function scalarDefault(kind: ScalarKind): string | boolean | number | Uint8Array {
  switch (kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return emptyBytes;
    default:
      return 0;
  }
}

/** True when `value` is the protocol default of its scalar kind. */
export function isScalarDefault(kind: ScalarKind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return value === '';
    case 'bool':
      return value === false;
    case 'bytes':
      return (value as Uint8Array).length === 0;
    default:
      return value === 0;
  }
}

/**
 * True when an optional field holding `value` carries nothing: a scalar default, an empty list
 * or map. Such fields are left out of canonical messages and of JSON output.
 */
export function isEmptyValue(field: FieldPlan, value: unknown): boolean {
  switch (field.kind) {
    case 'scalar':
      return isScalarDefault(field.scalar as ScalarKind, value);
    case 'list':
      return (value as readonly unknown[]).length === 0;
    case 'map':
      return Object.keys(value as object).length === 0;
    case 'message':
      return false;
  }
}

/** The default value of a required field: scalar default, empty list or map, or a default message. */
export function fieldDefault(field: FieldPlan): unknown {
  switch (field.kind) {
    case 'scalar':
      return scalarDefault(field.scalar as ScalarKind);
    case 'list':
      return [];
    case 'map':
      return {};
    case 'message':
      return defaultMessage(field.message as MessagePlan);
  }
}

/** A message with every required field at its default. */
export function defaultMessage(plan: MessagePlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of plan.fields) if (f.required) out[f.local] = fieldDefault(f);
  return out;
}

/** Inclusive integer range of a numeric scalar kind. */
export function integerRange(kind: ScalarKind): readonly [number, number] {
  switch (kind) {
    case 'uint32':
      return [0, 0xffffffff];
    case 'int32':
      return [-0x80000000, 0x7fffffff];
    case 'uint64':
      return [0, Number.MAX_SAFE_INTEGER];
    default:
      return [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  }
}
