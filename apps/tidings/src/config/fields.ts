import { z } from 'zod';
import { configSchema } from './schema.js';

/** The subset of JSON Schema that `z.toJSONSchema` emits for the config schema. */
export interface SchemaNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly items?: SchemaNode;
  readonly oneOf?: readonly SchemaNode[];
  readonly anyOf?: readonly SchemaNode[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly required?: readonly string[];
  /** Set with `.meta({ secret: true })`: the value must never be logged. */
  readonly secret?: boolean;
}

/**
 * How an option is written in an environment variable: `scalar` as plain text (numbers and
 * booleans are converted), `list` comma-separated, `json` as a JSON document.
 */
export type EnvKind = 'scalar' | 'list' | 'json';

/** One documented config option. */
export interface ConfigField {
  /** Dotted path; `[]` marks array items and `<name>` record entries (e.g. `auth.keys[].alg`). */
  readonly path: string;
  /** Environment variable, for options that are not inside a list or map. */
  readonly env: string | undefined;
  readonly envKind: EnvKind;
  readonly node: SchemaNode;
  readonly description: string;
  readonly secret: boolean;
  /** Must be present in its parent object (only list members and map entries have such fields). */
  readonly required: boolean;
}

const maxSafe = Number.MAX_SAFE_INTEGER;

/** The JSON Schema of the config input (what a file may contain), computed once. */
export const configJsonSchema: SchemaNode = z.toJSONSchema(configSchema, { io: 'input' }) as SchemaNode;

/** `TIDINGS_` + the path in SCREAMING_SNAKE_CASE: `client.pingIntervalMs` → `TIDINGS_CLIENT_PING_INTERVAL_MS`. */
export function envNameOf(segments: readonly string[]): string {
  return `TIDINGS_${segments.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** Properties of an object node, merging the branches of a union of objects (e.g. `engine`). */
function propertiesOf(node: SchemaNode): Record<string, SchemaNode> | undefined {
  if (node.properties !== undefined) return { ...node.properties };
  const branches = node.oneOf ?? node.anyOf;
  if (branches === undefined || !branches.every((b) => b.properties !== undefined)) return undefined;
  const merged: Record<string, SchemaNode> = {};
  for (const branch of branches) {
    for (const [key, child] of Object.entries(branch.properties ?? {})) {
      const seen = merged[key];
      merged[key] = seen === undefined ? child : { ...seen, anyOf: [...(seen.anyOf ?? [seen]), child] };
    }
  }
  return merged;
}

function recordValueOf(node: SchemaNode): SchemaNode | undefined {
  return typeof node.additionalProperties === 'object' && node.properties === undefined
    ? node.additionalProperties
    : undefined;
}

function isObjectLike(node: SchemaNode | undefined): boolean {
  return node !== undefined && (propertiesOf(node) !== undefined || recordValueOf(node) !== undefined);
}

function collect(
  node: SchemaNode,
  segments: string[],
  docPath: string,
  inEnv: boolean,
  required: boolean,
  out: ConfigField[],
): void {
  const props = propertiesOf(node);
  if (props !== undefined) {
    for (const [key, child] of Object.entries(props)) {
      const childPath = docPath === '' ? key : `${docPath}.${key}`;
      collect(child, [...segments, key], childPath, inEnv, node.required?.includes(key) === true, out);
    }
    return;
  }
  const recordValue = recordValueOf(node);
  const listOfObjects = node.type === 'array' && isObjectLike(node.items);
  const envKind: EnvKind =
    recordValue !== undefined || listOfObjects ? 'json' : node.type === 'array' ? 'list' : 'scalar';
  out.push({
    path: docPath,
    env: inEnv ? envNameOf(segments) : undefined,
    envKind,
    node,
    description: node.description ?? '',
    secret: node.secret === true || node.items?.secret === true,
    required,
  });
  // Members of lists and maps are documented, but only the whole value has an env variable.
  if (recordValue !== undefined) collect(recordValue, segments, `${docPath}.<name>`, false, false, out);
  if (listOfObjects && node.items !== undefined) collect(node.items, segments, `${docPath}[]`, false, false, out);
}

let fields: readonly ConfigField[] | undefined;

/** Every option of the config schema, in schema order (the docs and the env mapping use this). */
export function configFields(): readonly ConfigField[] {
  if (fields === undefined) {
    const out: ConfigField[] = [];
    collect(configJsonSchema, [], '', true, false, out);
    fields = Object.freeze(out);
  }
  return fields;
}

/** The schema node at a concrete path (`['auth', 'keys', 0, 'alg']`), or undefined. */
export function schemaAt(path: readonly PropertyKey[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = configJsonSchema;
  for (const segment of path) {
    if (node === undefined) return undefined;
    if (typeof segment === 'number') {
      node = node.items;
      continue;
    }
    const props = propertiesOf(node);
    node = props !== undefined ? props[String(segment)] : recordValueOf(node);
  }
  return node;
}

/** True when the value at `path`, or a list or object holding it, is marked secret. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  for (let i = 1; i <= path.length; i++) if (schemaAt(path.slice(0, i))?.secret === true) return true;
  return false;
}

/** Option names directly under an object node (for "did you mean" hints). */
export function childNames(node: SchemaNode | undefined): string[] {
  return node === undefined ? [] : Object.keys(propertiesOf(node) ?? {});
}

function range(noun: string, min: number | undefined, max: number | undefined): string {
  const hasMax = max !== undefined && max < maxSafe;
  if (min !== undefined && hasMax) return `${noun} between ${min} and ${max}`;
  if (min !== undefined) return `${noun} of at least ${min}`;
  if (hasMax) return `${noun} of at most ${max}`;
  return noun;
}

/** What a value must be, in words: "an integer between 0 and 65535", `one of "a", "b"`. */
export function describeExpected(node: SchemaNode): string {
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum !== undefined) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const branches = node.anyOf ?? node.oneOf;
  if (branches !== undefined && propertiesOf(node) === undefined) return branches.map(describeExpected).join(' or ');
  switch (node.type) {
    case 'integer':
      return range('an integer', node.minimum, node.maximum);
    case 'number':
      return range('a number', node.minimum, node.maximum);
    case 'boolean':
      return 'true or false';
    case 'string':
      return node.minLength !== undefined && node.minLength > 1
        ? `a string of at least ${node.minLength} characters`
        : 'a string (not empty)';
    case 'array':
      return node.items === undefined ? 'a list' : `a list of ${plural(describeExpected(node.items))}`;
    default:
      return recordValueOf(node) !== undefined ? 'an object of named entries' : 'an object';
  }
}

/** "an integer of at least 1" → "integers of at least 1"; "string (≥ 16 chars)" → "strings (≥ 16 chars)". */
function plural(text: string): string {
  return text.replace(/^(?:an? )?(\w+)/, (_, noun: string) => `${noun}s`);
}

/** Short type for the docs: `integer (0–65535)`, `"info" \| "warn"`, `list of strings`. */
export function describeType(node: SchemaNode): string {
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum !== undefined) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  const branches = node.anyOf ?? node.oneOf;
  if (branches !== undefined && propertiesOf(node) === undefined) return branches.map(describeType).join(' | ');
  const max = node.maximum !== undefined && node.maximum < maxSafe ? node.maximum : undefined;
  switch (node.type) {
    case 'integer':
    case 'number':
      if (node.minimum !== undefined && max !== undefined) return `${node.type} (${node.minimum}–${max})`;
      return node.minimum !== undefined ? `${node.type} (≥ ${node.minimum})` : node.type;
    case 'string':
      return node.minLength !== undefined && node.minLength > 1 ? `string (≥ ${node.minLength} chars)` : 'string';
    case 'array':
      return isObjectLike(node.items) ? 'list of objects' : `list of ${plural(describeType(node.items ?? {}))}`;
    case 'boolean':
      return 'boolean';
    default:
      return recordValueOf(node) !== undefined ? 'map of name → object' : 'object';
  }
}
