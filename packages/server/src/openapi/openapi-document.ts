import { interfaceVersions } from '../api/versions.js';
import { sharedSchemas } from './api-paths.js';
import type { JsonSchema, OpenApiDocument, OpenApiPaths } from './openapi-types.js';

/** Options of `createOpenApiDocument`. */
export interface OpenApiDocumentOptions {
  /** The running server's version, stated in the description (`info.version` is the HTTP API's). */
  readonly serverVersion: string;
  /** Path groups, e.g. `serverApiPaths()`, `streamPaths(...)` and the app's own endpoints. A later group may not redefine a path. */
  readonly paths: readonly OpenApiPaths[];
  /** More `components.schemas`, `components.securitySchemes` and tags the app's paths use. */
  readonly schemas?: Readonly<Record<string, JsonSchema>>;
  readonly securitySchemes?: Readonly<Record<string, unknown>>;
  readonly tags?: readonly { readonly name: string; readonly description: string }[];
}

const tags = [
  { name: 'Server API', description: 'Backend API (Centrifugo v5 compatible), with an API key. See docs/api.md.' },
  { name: 'Streams', description: 'Client transports over plain HTTP and WebSocket. See docs/transports.md.' },
  { name: 'SDK emulation', description: 'Bidirectional emulation for the centrifuge SDKs. See docs/transports.md.' },
  { name: 'Operations', description: 'Health, readiness, metrics, this document, the dashboard.' },
];

/**
 * The OpenAPI 3.1 document of a server: `info.version` is the HTTP API version
 * (`interfaceVersions.httpApi`, docs/versioning.md), schemas are JSON Schema 2020-12 generated
 * from zod. Deterministic for given options (the tests compare documents).
 * @throws Error when two groups define the same path (a routing bug: one would shadow the other).
 */
export function createOpenApiDocument(options: OpenApiDocumentOptions): OpenApiDocument {
  const paths: Record<string, OpenApiPaths[string]> = {};
  for (const group of options.paths) {
    for (const [path, item] of Object.entries(group)) {
      if (Object.hasOwn(paths, path)) throw new Error(`OpenAPI: path ${path} is defined twice`);
      paths[path] = item;
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tidings HTTP API',
      version: interfaceVersions.httpApi,
      description:
        `Every HTTP endpoint of this Tidings server (version ${options.serverVersion}), generated from the zod ` +
        'schemas its handlers validate with. Errors are `{"error": {"code", "message"}}` with the codes of docs/errors.md. ' +
        'The gRPC, Connect and gRPC-Web API on the same port (`/tidings.api.v1.ApiService/*`, reflection) is described ' +
        'by its .proto (packages/connect/proto), not here. Compatibility policy: docs/versioning.md.',
    },
    tags: [...tags, ...(options.tags ?? [])],
    paths,
    components: {
      schemas: { ...sharedSchemas, ...options.schemas },
      securitySchemes: {
        ...options.securitySchemes,
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'a key of api.keys' },
        apiKeyAuthorization: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: '`Authorization: apikey <key>`',
        },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a connection token' },
        tokenCookie: { type: 'apiKey', in: 'cookie', name: 'tidings_token', description: 'a connection token' },
        tokenQuery: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description: 'a connection token in the URL (logged by proxies: prefer short-lived tokens)',
        },
      },
    },
  };
}
