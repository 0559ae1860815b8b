import { z } from 'zod';

/**
 * Response bodies of the server API as zod schemas: what `/api/openapi.json` documents and what
 * the OpenAPI test checks live answers against. The handlers build these bodies in
 * api-methods.ts; a field added there belongs here too: the document describes these objects
 * with `additionalProperties: false`, so the live test fails on an undocumented member.
 */

/** `{ code, message }`: a wire error code (docs/errors.md) and a human-readable message. */
export const wireErrorSchema = z
  .object({ code: z.number().int().min(0), message: z.string() })
  .meta({ description: 'A Centrifuge wire error code (docs/errors.md) and a message; never echoes input values.' });

/** The body of every refusal: `{ "error": { code, message } }`. */
export const errorBodySchema = z.object({ error: wireErrorSchema });

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

/** Stored bytes: JSON text is embedded as JSON under the name, other bytes as base64 under `b64<name>`. */
const clientInfoOut = z.object({
  client: z.string(),
  user: z.string(),
  conn_info: z.unknown().optional(),
  b64conn_info: base64.optional(),
  chan_info: z.unknown().optional(),
  b64chan_info: base64.optional(),
});

const publicationOut = z.object({
  data: z.unknown().optional(),
  b64data: base64.optional(),
  info: clientInfoOut.optional(),
  offset: z.number().int().min(0),
  tags: z.record(z.string(), z.string()).optional(),
});

const position = { offset: z.number().int().min(0), epoch: z.string() };

export const publishResultSchema = z.object(position);

const publishOutcome = z.union([z.object({ result: publishResultSchema }), errorBodySchema]);

export const broadcastResultSchema = z.object({ responses: z.array(publishOutcome) });

export const historyResultSchema = z.object({ publications: z.array(publicationOut), ...position });

export const emptyResultSchema = z.object({});

export const presenceResultSchema = z.object({ presence: z.record(z.string(), clientInfoOut) });

export const presenceStatsResultSchema = z.object({
  num_clients: z.number().int().min(0),
  num_users: z.number().int().min(0),
});

export const channelsResultSchema = z.object({
  channels: z.record(z.string(), z.object({ num_clients: z.number().int().min(0) })),
});

const count = z.number().int().min(0);

export const infoResultSchema = z.object({
  nodes: z.array(
    z.object({
      uid: z.string(),
      name: z.string(),
      version: z.string(),
      num_clients: count,
      num_users: count,
      num_channels: count,
      num_subs: count,
      uptime: count.meta({ description: 'seconds since the node started' }),
    }),
  ),
  versions: z
    .object({
      server: z.string().meta({ description: 'version of this Tidings server' }),
      http_api: z
        .string()
        .meta({ description: 'version of the HTTP API (semver; `info.version` of /api/openapi.json)' }),
      client_protocol: z.string().meta({ description: 'client protocol on WebSocket and emulation' }),
      protobuf_api: z.string().meta({ description: 'Protobuf package of the gRPC / Connect API' }),
      one_way_streams: z.string().meta({ description: 'major version of the SSE / NDJSON / poll event format' }),
    })
    .meta({ description: 'see docs/versioning.md' }),
});

/** Method name → schema of its `result`; `batch` answers `batchResponseSchema` instead. */
export const methodResultSchemas = {
  publish: publishResultSchema,
  broadcast: broadcastResultSchema,
  history: historyResultSchema,
  history_remove: emptyResultSchema,
  presence: presenceResultSchema,
  presence_stats: presenceStatsResultSchema,
  channels: channelsResultSchema,
  info: infoResultSchema,
  disconnect: emptyResultSchema,
  unsubscribe: emptyResultSchema,
  subscribe: emptyResultSchema,
} as const;

/** `{ "replies": [...] }`: per command `{ "<method>": result }` or `{ "error": ... }`, in command order. */
export const batchResponseSchema = z.object({
  replies: z.array(
    z.union([
      ...Object.entries(methodResultSchemas).map(([name, schema]) => z.object({ [name]: schema }).strict()),
      errorBodySchema,
    ]),
  ),
});

/** One line of `GET <prefix>/history/stream` (NDJSON): publications, then `end` or `error`. */
export const historyExportLineSchema = z.discriminatedUnion('type', [
  publicationOut.extend({ type: z.literal('publication') }),
  z.object({
    type: z.literal('end'),
    channel: z.string(),
    ...position,
    publications: z.number().int().min(0).meta({ description: 'lines written before this one' }),
  }),
  z.object({ type: z.literal('error'), error: wireErrorSchema }),
]);
