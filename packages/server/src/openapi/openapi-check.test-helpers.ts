// Validation of bodies against an OpenAPI document with ajv (JSON Schema 2020-12), for the
// OpenAPI tests: examples in the document, and live responses of a running server.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenApiDocument, OpenApiOperation } from './openapi-types.js';

interface Media {
  readonly schema?: unknown;
  readonly 'x-item-schema'?: unknown;
  readonly examples?: Readonly<Record<string, { readonly value: unknown }>>;
}

interface Response {
  readonly content?: Readonly<Record<string, Media>>;
}

/** `#/components/schemas/X` → `openapi.json#/$defs/X`, so ajv resolves refs against the document's components. */
function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `openapi.json#/$defs/${v.slice('#/components/schemas/'.length)}`
        : rebase(v);
  }
  return out;
}

/** The media type of a Content-Type header without parameters, lower case. */
export function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Every item of a stream body: SSE `data:` lines or NDJSON lines, parsed as JSON. */
export function streamItems(mediaType: string, text: string): unknown[] {
  if (mediaType === 'text/event-stream') {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as unknown);
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

/** Validates bodies against one document's schemas; every failure is a readable string. */
export class OpenApiChecker {
  readonly doc: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<unknown, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
    this.#ajv = new Ajv2020({ strict: true, allErrors: false, allowUnionTypes: true });
    this.#ajv.addSchema({ $id: 'openapi.json', $defs: rebase(doc.components.schemas) as object });
  }

  /** The operation of `method path`, or undefined. */
  operation(method: string, path: string): OpenApiOperation | undefined {
    const item = this.doc.paths[path] as Readonly<Record<string, OpenApiOperation>> | undefined;
    return item?.[method.toLowerCase()];
  }

  /** Errors of `value` against `schema` (empty: valid). */
  errors(schema: unknown, value: unknown): string[] {
    let validate = this.#compiled.get(schema);
    if (validate === undefined) {
      validate = this.#ajv.compile(rebase(schema) as object);
      this.#compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  }

  /**
   * Checks a live answer of `method path`: its status must be documented, its content type
   * among the documented ones, and its body (each item of a stream) valid against the schema.
   * Returns the problems (empty: it agrees with the document).
   */
  checkResponse(method: string, path: string, status: number, contentType: string | null, body: string): string[] {
    // A method the path does not serve answers the 405 documented on the path's operations.
    const item = this.doc.paths[path] as Readonly<Record<string, OpenApiOperation>> | undefined;
    const op =
      this.operation(method, path) ?? (status === 405 && item !== undefined ? Object.values(item)[0] : undefined);
    const where = `${method.toUpperCase()} ${path} ${status}`;
    if (op === undefined) return [`${where}: no such operation in the document`];
    const response = op.responses[String(status)] as Response | undefined;
    if (response === undefined) return [`${where}: status not documented`];
    if (response.content === undefined) return body === '' ? [] : [`${where}: a body where none is documented`];
    const type = baseType(contentType ?? '');
    const entry = Object.entries(response.content).find(([t]) => baseType(t) === type);
    if (entry === undefined) return [`${where}: content type ${type} not documented`];
    const [mediaType, media] = entry;
    const itemSchema = media['x-item-schema'];
    if (itemSchema !== undefined) {
      return streamItems(baseType(mediaType), body).flatMap((v, i) =>
        this.errors(itemSchema, v).map((e) => `${where} item ${i}: ${e}`),
      );
    }
    if (type !== 'application/json') return typeof body === 'string' ? [] : [`${where}: not text`];
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return [`${where}: body is not JSON`];
    }
    return this.errors(media.schema ?? {}, value).map((e) => `${where}: ${e}`);
  }

  /** Problems of every example in the document (request bodies, responses, parameters). */
  checkExamples(): { readonly checked: number; readonly problems: string[] } {
    const problems: string[] = [];
    let checked = 0;
    const media = (where: string, content: Readonly<Record<string, Media>> | undefined) => {
      for (const [type, m] of Object.entries(content ?? {})) {
        for (const [name, example] of Object.entries(m.examples ?? {})) {
          checked++;
          const item = m['x-item-schema'];
          const at = `${where} ${type} example ${name}`;
          if (item !== undefined) {
            for (const v of streamItems(baseType(type), String(example.value))) {
              problems.push(...this.errors(item, v).map((e) => `${at}: ${e}`));
            }
          } else if (baseType(type) === 'application/json' && typeof m.schema === 'object') {
            problems.push(...this.errors(m.schema, example.value).map((e) => `${at}: ${e}`));
          }
        }
      }
    };
    for (const [path, item] of Object.entries(this.doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, OpenApiOperation][]) {
        const where = `${method.toUpperCase()} ${path}`;
        media(`${where} request`, (op.requestBody as { content?: Record<string, Media> } | undefined)?.content);
        for (const [status, r] of Object.entries(op.responses)) media(`${where} ${status}`, (r as Response).content);
        for (const p of (op.parameters ?? []) as { name: string; schema: unknown; example?: unknown }[]) {
          if (p.example === undefined) continue;
          checked++;
          problems.push(...this.errors(p.schema, p.example).map((e) => `${where} parameter ${p.name}: ${e}`));
        }
      }
    }
    return { checked, problems };
  }
}
