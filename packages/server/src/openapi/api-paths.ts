import { z } from 'zod';
import {
  batchResponseSchema,
  errorBodySchema,
  historyExportLineSchema,
  methodResultSchemas,
} from '../api/api-responses.js';
import {
  type ApiMethod,
  batchCommandSchema,
  batchSchema,
  historyStreamQuerySchema,
  idempotencyHeaderSchema,
  maxBatchCommands,
  methodSchemas,
} from '../api/api-schemas.js';
import {
  headerParameter,
  type JsonSchema,
  jsonResponse,
  jsonSchemaOf,
  type OpenApiPaths,
  queryParameter,
  ref,
  streamResponse,
} from './openapi-types.js';

const epoch = 'xV3mZ1pQ';

interface MethodDoc {
  readonly summary: string;
  readonly description: string;
  readonly request: unknown;
  readonly result: unknown;
}

/** Summary, description and one request/result example per method (checked against the schemas by the tests). */
const methodDocs: { readonly [M in ApiMethod]: MethodDoc } = {
  publish: {
    summary: 'Publish into a channel',
    description:
      'Stores the publication (unless `skip_history`) and delivers it to every subscriber. Set exactly one of ' +
      '`data` (any JSON) and `b64data` (base64 bytes). Answers only once the engine stored it (503 otherwise). ' +
      '`delta: true` is refused.',
    request: { channel: 'chat:lobby', data: { text: 'hello' }, idempotency_key: 'msg-1' },
    result: { offset: 1, epoch },
  },
  broadcast: {
    summary: 'Publish the same data into many channels',
    description: `At most ${maxBatchCommands} channels; one outcome per channel, in order.`,
    request: { channels: ['user:1', 'nope:2'], data: { text: 'hello' } },
    result: {
      responses: [{ result: { offset: 4, epoch } }, { error: { code: 102, message: 'unknown channel' } }],
    },
  },
  history: {
    summary: "Read a channel's history",
    description:
      'No `limit` (or 0): only the stream position; -1: everything retained. A `since` of another epoch or older ' +
      'than what is retained answers error 112.',
    request: { channel: 'chat:lobby', limit: 2 },
    result: {
      publications: [
        { data: { text: 'hi' }, offset: 3 },
        { data: { text: 'hello' }, info: { client: 'c1', user: '42' }, offset: 4, tags: { kind: 'msg' } },
      ],
      offset: 4,
      epoch,
    },
  },
  history_remove: {
    summary: "Remove a channel's retained publications",
    description: 'The stream position (offset and epoch) is kept.',
    request: { channel: 'chat:lobby' },
    result: {},
  },
  presence: {
    summary: 'Who is subscribed to a channel',
    description: 'By client id. Error 108 when the namespace keeps no presence.',
    request: { channel: 'chat:lobby' },
    result: { presence: { c1: { client: 'c1', user: '42', conn_info: { name: 'Alice' } } } },
  },
  presence_stats: {
    summary: 'Counts of subscribed clients and users',
    description: 'Error 108 when the namespace keeps no presence.',
    request: { channel: 'chat:lobby' },
    result: { num_clients: 2, num_users: 1 },
  },
  channels: {
    summary: 'Channels with subscribers on this node',
    description: '`pattern` matches names, `*` standing for any run of characters.',
    request: { pattern: 'chat:*' },
    result: { channels: { 'chat:lobby': { num_clients: 3 } } },
  },
  info: {
    summary: 'Nodes of the cluster, server and interface versions',
    description: '`versions` is described in docs/versioning.md.',
    request: {},
    result: {
      nodes: [
        {
          uid: 'n1',
          name: 'host-1',
          version: '0.1.0',
          num_clients: 3,
          num_users: 2,
          num_channels: 1,
          num_subs: 3,
          uptime: 60,
        },
      ],
      versions: {
        server: '0.1.0',
        http_api: '1.0.0',
        client_protocol: 'centrifuge-v2',
        protobuf_api: 'tidings.api.v1',
        one_way_streams: '1',
      },
    },
  },
  disconnect: {
    summary: "Disconnect a user's connections",
    description: 'Default disconnect `{code: 3503, reason: "force disconnect"}` (no reconnect).',
    request: { user: '42', disconnect: { code: 4500, reason: 'banned' } },
    result: {},
  },
  unsubscribe: {
    summary: 'Unsubscribe a user from a channel',
    description: 'On this node; only the connection `client` when given. `session` is refused.',
    request: { user: '42', channel: 'news' },
    result: {},
  },
  subscribe: {
    summary: 'Subscribe a user to a channel (server-side subscription)',
    description: "On this node; only the connection `client` when given. Centrifugo's extra fields are refused.",
    request: { user: '42', channel: 'news' },
    result: {},
  },
};

const apiSecurity = [{ apiKey: [] }, { apiKeyAuthorization: [] }];

const idempotencyHeader = headerParameter(
  'Idempotency-Key',
  'Idempotency key for publish/broadcast (1 to 256 characters); the `idempotency_key` field wins. Refused for batch.',
  jsonSchemaOf(idempotencyHeaderSchema.unwrap(), 'input'),
);

const errorRef = ref('Error');

/** The 4xx/5xx answers every `POST <prefix>/<method>` may give. */
function failures(kind: 'single' | 'broadcast' | 'batch', okSchema: JsonSchema): Record<string, unknown> {
  const retryAfter = { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } };
  // Broadcast and batch answer 503/500 with every item's outcome; other methods with an error.
  const perItem = kind === 'single' ? errorRef : { oneOf: [okSchema, errorRef] };
  return {
    '400': jsonResponse('malformed request: not JSON, not an object, wrong field, bad header', errorRef, {
      error: { code: 107, message: 'bad request: channel: Invalid input: expected string, received undefined' },
    }),
    '401': jsonResponse('missing or wrong API key', errorRef, { error: { code: 101, message: 'unauthorized' } }),
    '405': jsonResponse('not POST (with `Allow: POST`)', errorRef),
    '413': jsonResponse('body larger than api.maxBodyBytes', errorRef),
    '415': jsonResponse('a non-empty body without Content-Type: application/json', errorRef),
    '429': jsonResponse('this API key exceeded api.requestRatePerKey', errorRef, undefined, retryAfter),
    '500': jsonResponse('unexpected server fault', perItem),
    '503': jsonResponse(
      'the engine could not complete the call; nothing was acknowledged',
      perItem,
      undefined,
      retryAfter,
    ),
  };
}

function methodOperation(method: ApiMethod) {
  const doc = methodDocs[method];
  const result = z.object({ result: methodResultSchemas[method] });
  const ok = method === 'broadcast' ? jsonSchemaOf(result, 'output') : undefined;
  return {
    post: {
      operationId: method,
      summary: doc.summary,
      description: `${doc.description}\n\nA well-formed request that is refused (unknown namespace 102, invalid channel 107, not available 108, unrecoverable position 112) answers 200 with \`{"error": ...}\`, as Centrifugo does.`,
      tags: ['Server API'],
      security: apiSecurity,
      ...(method === 'publish' || method === 'broadcast' ? { parameters: [idempotencyHeader] } : {}),
      requestBody: {
        required: false,
        content: {
          'application/json': {
            schema: jsonSchemaOf(methodSchemas[method], 'input'),
            examples: { example: { value: doc.request } },
          },
        },
      },
      responses: {
        '200': jsonResponse(
          'the call ran (`result`), or a well-formed request was refused (`error`)',
          { oneOf: [jsonSchemaOf(result, 'output'), errorRef] },
          { result: doc.result },
        ),
        ...failures(method === 'broadcast' ? 'broadcast' : 'single', ok ?? {}),
      },
    },
  };
}

const batchRequestSchema = batchSchema.extend({
  commands: z.array(batchCommandSchema).max(maxBatchCommands),
});

function batchOperation() {
  const response = jsonSchemaOf(batchResponseSchema, 'output');
  return {
    post: {
      operationId: 'batch',
      summary: 'Run many commands in one request',
      description:
        `Each command is an object with exactly one method name as its key (batch cannot nest); at most ${maxBatchCommands}. ` +
        'The whole batch is validated first: one malformed command answers 400 and nothing runs. ' +
        '`parallel: true` runs them concurrently. Replies are in command order.',
      tags: ['Server API'],
      security: apiSecurity,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: jsonSchemaOf(batchRequestSchema, 'input'),
            examples: {
              example: {
                value: {
                  commands: [{ publish: { channel: 'chat:1', data: {} } }, { presence_stats: { channel: 'chat:1' } }],
                },
              },
            },
          },
        },
      },
      responses: {
        '200': jsonResponse('every reply', response, {
          replies: [{ publish: { offset: 7, epoch } }, { presence_stats: { num_clients: 0, num_users: 0 } }],
        }),
        ...failures('batch', response),
      },
    },
  };
}

function historyStreamOperation() {
  return {
    get: {
      operationId: 'history_stream',
      summary: "Export a channel's whole retained history as NDJSON",
      description:
        'Oldest first, one publication a line, then an `end` line with the position to continue from. If history can ' +
        'no longer be continued mid-export, the last line is `{"type":"error","error":{"code":112,...}}`. A response ' +
        'that ends with neither was cut.',
      tags: ['Server API'],
      security: apiSecurity,
      parameters: [queryParameter('channel', historyStreamQuerySchema.shape.channel, true)],
      responses: {
        '200': streamResponse(
          'NDJSON lines',
          'application/x-ndjson',
          jsonSchemaOf(historyExportLineSchema, 'output'),
          '{"type":"publication","data":{"text":"hi"},"offset":1}\n{"type":"end","channel":"chat:lobby","epoch":"xV3mZ1pQ","offset":1,"publications":1}\n',
        ),
        '400': jsonResponse('no or several `channel`, bad name (107), or no history in the namespace (108)', errorRef),
        '401': jsonResponse('missing or wrong API key', errorRef),
        '404': jsonResponse('unknown namespace (102)', errorRef),
        '405': jsonResponse('not GET', errorRef),
        '503': jsonResponse('engine unavailable', errorRef),
      },
    },
  };
}

const stateEntrySchema = z.object({
  key: z.string().meta({ description: 'the `key` tag of the publications; "" for a channel with one document' }),
  offset: z.number().int().meta({ description: 'offset of the publication that wrote this document' }),
  epoch: z.string(),
  time: z.number().int().meta({ description: 'when it was written, ms since the Unix epoch' }),
  data: z.unknown().meta({ description: 'the whole JSON document' }),
});

function stateOperation() {
  const oneKey = stateEntrySchema.extend({ channel: z.string() });
  const everyKey = z.object({ channel: z.string(), entries: z.array(stateEntrySchema) });
  const cacheHeaders = {
    ETag: { description: 'strong validator of the keys and their positions', schema: { type: 'string' } },
    'Cache-Control': {
      description: '`public, no-cache`, or `public, max-age=<api.stateMaxAgeSec>`',
      schema: { type: 'string' },
    },
  };
  return {
    get: {
      operationId: 'state',
      summary: "A state channel's latest documents (every key, or one), with ETag",
      description:
        'Answers 304 with no body to a matching `If-None-Match`, so CDNs and pollers revalidate for the price of a ' +
        'header. `HEAD` answers the headers only. See docs/state.md.',
      tags: ['Server API'],
      security: apiSecurity,
      parameters: [
        queryParameter('channel', z.string().min(1).meta({ description: 'a channel of a `state` namespace' }), true),
        queryParameter('key', z.string().meta({ description: 'one key; absent: every key, in offset order' })),
        headerParameter('If-None-Match', 'an ETag of an earlier answer'),
      ],
      responses: {
        '200': jsonResponse(
          'the document of `key`, or every key',
          jsonSchemaOf(z.union([oneKey, everyKey]), 'output'),
          { channel: 'prices:nasdaq', key: 'AAPL', offset: 2, epoch, time: 1765000000000, data: { bid: 1, ask: 3 } },
          cacheHeaders,
        ),
        '304': { description: 'unchanged since the ETag given in `If-None-Match`', headers: cacheHeaders },
        '400': jsonResponse('no or several `channel`, several `key`, bad name (107)', errorRef),
        '401': jsonResponse('missing or wrong API key', errorRef),
        '404': jsonResponse('unknown namespace or no document for `key` (102), not a state channel (108)', errorRef),
        '405': jsonResponse('not GET or HEAD', errorRef),
        '503': jsonResponse('engine unavailable', errorRef),
      },
    },
  };
}

/**
 * The paths of the server API under `prefix` (default `/api`): one `POST` per method of
 * `methodSchemas`, `POST <prefix>/batch`, `GET <prefix>/history/stream` and `GET <prefix>/state`, with request
 * schemas generated from the zod schemas the handler validates with.
 */
export function serverApiPaths(prefix = '/api'): OpenApiPaths {
  const paths: Record<string, unknown> = {};
  for (const method of Object.keys(methodSchemas) as ApiMethod[]) {
    paths[`${prefix}/${method}`] = methodOperation(method);
  }
  paths[`${prefix}/batch`] = batchOperation();
  paths[`${prefix}/history/stream`] = historyStreamOperation();
  paths[`${prefix}/state`] = stateOperation();
  return paths as OpenApiPaths;
}

/** `components.schemas` entries the paths refer to. */
export const sharedSchemas: Readonly<Record<string, JsonSchema>> = {
  Error: jsonSchemaOf(errorBodySchema, 'output'),
};
