import type { OpenApiDocument, OpenApiOperation } from '@tidings/server';

type Schema = { readonly [key: string]: unknown };

function deref(doc: OpenApiDocument, schema: unknown): Schema | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const ref = (schema as Schema).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    return doc.components.schemas[ref.slice('#/components/schemas/'.length)] as Schema | undefined;
  }
  return schema as Schema;
}

const list = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const record = (value: unknown): Readonly<Record<string, unknown>> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * Differences of `after` from `before` that break a client of `before`, at `at`. `side` says who
 * sends the value: a request may not gain required members, lose members or change types; a
 * response may not lose members, make a required member optional, or change types.
 */
function compareSchemas(
  docs: { readonly before: OpenApiDocument; readonly after: OpenApiDocument },
  before: unknown,
  after: unknown,
  side: 'request' | 'response',
  at: string,
  out: string[],
  depth = 0,
): void {
  const b = deref(docs.before, before);
  const a = deref(docs.after, after);
  if (b === undefined || a === undefined || depth > 20) return;
  if (b.type !== undefined && JSON.stringify(b.type) !== JSON.stringify(a.type)) {
    out.push(`${at}: type ${JSON.stringify(b.type)} became ${JSON.stringify(a.type ?? 'any')}`);
    return;
  }
  const bProps = record(b.properties);
  const aProps = record(a.properties);
  const bRequired = new Set(list(b.required));
  const aRequired = new Set(list(a.required));
  for (const [name, schema] of Object.entries(bProps)) {
    if (!Object.hasOwn(aProps, name)) {
      out.push(`${at}.${name}: removed`);
      continue;
    }
    if (side === 'response' && bRequired.has(name) && !aRequired.has(name))
      out.push(`${at}.${name}: no longer always present`);
    compareSchemas(docs, schema, aProps[name], side, `${at}.${name}`, out, depth + 1);
  }
  if (side === 'request') {
    for (const name of aRequired) if (!bRequired.has(name)) out.push(`${at}.${String(name)}: newly required`);
  }
  if (b.items !== undefined) compareSchemas(docs, b.items, a.items, side, `${at}[]`, out, depth + 1);
  if (typeof b.additionalProperties === 'object') {
    compareSchemas(docs, b.additionalProperties, a.additionalProperties, side, `${at}{}`, out, depth + 1);
  }
  for (const key of ['oneOf', 'anyOf'] as const) {
    const bs = list(b[key]);
    const as = list(a[key]);
    if (bs.length > as.length) out.push(`${at}: ${key} lost ${bs.length - as.length} alternative(s)`);
    for (let i = 0; i < Math.min(bs.length, as.length); i++) {
      compareSchemas(docs, bs[i], as[i], side, `${at}<${key}[${i}]>`, out, depth + 1);
    }
  }
}

function operations(doc: OpenApiDocument): Map<string, OpenApiOperation> {
  const out = new Map<string, OpenApiOperation>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as [string, OpenApiOperation][]) {
      out.set(`${method.toUpperCase()} ${path}`, op);
    }
  }
  return out;
}

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
}

/**
 * The breaking changes of the HTTP API from `before` (the released document) to `after`, by
 * the rules of docs/versioning.md that a document can show: removed operations and query or
 * header parameters, newly required parameters or request members, removed or retyped members
 * of request bodies and of the 200 answers, response members no longer always present. Additions
 * are never reported. Behaviour the document cannot show (a status code, a wire error code) is
 * for review and the tests.
 */
export function breakingChanges(before: OpenApiDocument, after: OpenApiDocument): string[] {
  const out: string[] = [];
  const docs = { before, after };
  const afterOps = operations(after);
  for (const [key, b] of operations(before)) {
    const a = afterOps.get(key);
    if (a === undefined) {
      out.push(`${key}: removed`);
      continue;
    }
    const aParams = (a.parameters ?? []) as readonly Parameter[];
    const bParams = (b.parameters ?? []) as readonly Parameter[];
    for (const p of bParams) {
      if (!aParams.some((q) => q.name === p.name && q.in === p.in)) out.push(`${key} ${p.in} ${p.name}: removed`);
    }
    for (const p of aParams) {
      const was = bParams.find((q) => q.name === p.name && q.in === p.in);
      if (p.required === true && was?.required !== true) out.push(`${key} ${p.in} ${p.name}: newly required`);
    }
    const body = (op: OpenApiOperation) =>
      record(record(record(op.requestBody).content)['application/json']).schema as unknown;
    if (body(b) !== undefined) compareSchemas(docs, body(b), body(a), 'request', `${key} body`, out);
    const ok = (op: OpenApiOperation) => record(record(record(op.responses['200']).content)['application/json']).schema;
    if (ok(b) !== undefined) compareSchemas(docs, ok(b), ok(a), 'response', `${key} 200`, out);
  }
  return out;
}
