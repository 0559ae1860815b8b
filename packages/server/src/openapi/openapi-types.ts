import { z } from 'zod';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as a plain object. */
export type JsonSchema = { readonly [key: string]: unknown };

/** An OpenAPI 3.1 operation, loosely typed: the document is data, checked by the tests. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly unknown[];
  readonly requestBody?: unknown;
  readonly responses: Readonly<Record<string, unknown>>;
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

/** The operations of one path, by lower-case HTTP method. */
export type OpenApiPathItem = Readonly<Partial<Record<'get' | 'post' | 'head', OpenApiOperation>>>;

/** Path → operations. */
export type OpenApiPaths = Readonly<Record<string, OpenApiPathItem>>;

/** The whole document served at `/api/openapi.json`. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly paths: OpenApiPaths;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, unknown>>;
  };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
}

/**
 * The JSON Schema of a zod schema as OpenAPI 3.1 embeds it. `input` describes what a handler
 * accepts (refinements such as "exactly one of data and b64data" are not expressible and are
 * left to the description); `output` describes what the server writes, with
 * `additionalProperties: false` on every object, so an undocumented member fails validation.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

/** `{ "$ref": "#/components/schemas/<name>" }`. */
export function ref(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

/** A JSON response with one example (or none). */
export function jsonResponse(description: string, schema: JsonSchema, example?: unknown, headers?: unknown): unknown {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: {
      'application/json': { schema, ...(example === undefined ? {} : { examples: { example: { value: example } } }) },
    },
  };
}

/** A response whose body is a stream of items (SSE `data:` objects or NDJSON lines). */
export function streamResponse(description: string, mediaType: string, itemSchema: JsonSchema, example: string) {
  return {
    description,
    content: {
      // OpenAPI 3.1 has no schema for the items of a stream (3.2 adds `itemSchema`): the body is
      // text, and `x-item-schema` holds the schema of each event, as 3.2's `itemSchema` would.
      [mediaType]: {
        schema: { type: 'string' },
        'x-item-schema': itemSchema,
        examples: { example: { value: example } },
      },
    },
  };
}

/** A query parameter from one member of a zod object schema (arrays repeat the name: OpenAPI's default `form` style). */
export function queryParameter(name: string, schema: z.ZodType, required = false): unknown {
  const json = jsonSchemaOf(schema, 'input');
  const { description, examples, ...rest } = json as { description?: string; examples?: unknown[] };
  return {
    name,
    in: 'query',
    required,
    ...(description === undefined ? {} : { description }),
    schema: rest,
    ...(examples?.[0] === undefined ? {} : { example: examples[0] }),
  };
}

/** A header parameter. */
export function headerParameter(name: string, description: string, schema: JsonSchema = { type: 'string' }) {
  return { name, in: 'header', required: false, description, schema };
}
