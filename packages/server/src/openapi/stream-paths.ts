import { z } from 'zod';
import { emulationJsonBodySchema } from '../transport/emulation/emulation-request.js';
import { oneWayEventSchema } from '../transport/one-way/one-way-events.js';
import { oneWayQuerySchema } from '../transport/one-way/one-way-query.js';
import { pollQuerySchema, pollReplySchema } from '../transport/poll/poll-query.js';
import {
  headerParameter,
  jsonResponse,
  jsonSchemaOf,
  type OpenApiPaths,
  queryParameter,
  ref,
  streamResponse,
} from './openapi-types.js';

/** Which stream endpoints are served, at which paths (absent: not served). */
export interface StreamPathsOptions {
  /** One-way SSE (`sse.path`). */
  readonly sse?: string;
  /** One-way NDJSON (`httpStream.path`). */
  readonly httpStream?: string;
  /** Polling (`poll.path`). */
  readonly poll?: string;
  /** The centrifuge SDK emulation (`emulation.*`). */
  readonly emulation?: { readonly httpStreamPath: string; readonly ssePath: string; readonly path: string };
  /** The WebSocket endpoint (`websocket.path`): documented as a `GET` that upgrades. */
  readonly websocket?: string;
}

const errorRef = ref('Error');
const eventSchema = jsonSchemaOf(oneWayEventSchema, 'output');
const streamSecurity = [{}, { bearer: [] }, { tokenCookie: [] }, { tokenQuery: [] }];

const oneWayParameters = [
  queryParameter('channel', oneWayQuerySchema.shape.channel),
  queryParameter('cursor', oneWayQuerySchema.shape.cursor),
  queryParameter('since', oneWayQuerySchema.shape.since),
  queryParameter('maxRate', oneWayQuerySchema.shape.maxRate),
  headerParameter('Last-Event-ID', 'resume position (a cursor); wins over `?cursor=` and `?since=`'),
];

const refusals = {
  '400': jsonResponse('bad cursor or `since`, no channel (107)', errorRef, {
    error: { code: 107, message: 'no channel: pass ?channel=' },
  }),
  '401': jsonResponse('bad or expired token (101, 109)', errorRef),
  '403': jsonResponse('origin not allowed, or no permission for a channel (103)', errorRef),
  '404': jsonResponse('unknown namespace (102)', errorRef),
  '503': jsonResponse('not ready or engine unavailable; with Retry-After', errorRef),
};

const sseExample =
  'retry: 3000\n\nevent: connected\nid: AQEJZGVtbzpjaGF0CF8tV1FsdTUwAA\ndata: {"type":"connected","client":"07e9f185","channels":["demo:chat"]}\n\n' +
  'id: AQEJZGVtbzpjaGF0CF8tV1FsdTUwAQ\ndata: {"type":"publication","channel":"demo:chat","offset":1,"epoch":"_-WQlu50","data":{"text":"hi"}}\n\n';

const ndjsonExample =
  '{"type":"connected","client":"49d4","channels":["demo:chat"],"cursor":"AQEJZGVtbzpjaGF0CF8tV1FsdTUwAA"}\n' +
  '{"type":"publication","channel":"demo:chat","offset":1,"epoch":"_-WQlu50","data":{"text":"hi"},"cursor":"AQEJZGVtbzpjaGF0CF8tV1FsdTUwAQ"}\n' +
  '{"type":"heartbeat"}\n';

const connectCommand = z
  .string()
  .meta({ description: 'the SDK\'s connect command as JSON, e.g. {"id":1,"connect":{"token":"..."}}' });

function ssePath(emulated: boolean) {
  return {
    get: {
      operationId: 'sse',
      summary: 'Server-Sent Events stream of channels',
      description:
        'One-way stream for `new EventSource(url)`: publications are unnamed events, others are named by type; the ' +
        'cursor is the `id:`, so a browser resumes with `Last-Event-ID`. Heartbeats are comments. Each `data:` line is ' +
        'one event object (`x-item-schema`). A stream that stops without an `end` event was cut: reconnect with the last cursor.' +
        (emulated
          ? '\n\nWith `cf_connect` the request is instead a centrifuge SDK emulation session (`sse` transport): each ' +
            '`data:` line is a Centrifuge protocol reply or push.'
          : ''),
      tags: ['Streams'],
      security: streamSecurity,
      parameters: [...oneWayParameters, ...(emulated ? [queryParameter('cf_connect', connectCommand.optional())] : [])],
      responses: {
        '200': streamResponse('the event stream', 'text/event-stream', eventSchema, sseExample),
        ...refusals,
      },
    },
  };
}

function emulationSsePath() {
  return {
    get: {
      operationId: 'emulation_sse',
      summary: 'centrifuge SDK `sse` transport',
      description:
        'A centrifuge SDK emulation session: each `data:` line is a Centrifuge protocol reply or push (JSON). ' +
        'Requests without `cf_connect` are not served here.',
      tags: ['SDK emulation'],
      parameters: [queryParameter('cf_connect', connectCommand, true)],
      responses: {
        '200': { description: 'the session stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        '403': jsonResponse('origin not allowed', errorRef),
        '405': jsonResponse('not GET', errorRef),
        '503': jsonResponse('not ready', errorRef),
      },
    },
  };
}

function ndjsonPath() {
  return {
    get: {
      operationId: 'ndjson_stream',
      summary: 'NDJSON stream of channels',
      description:
        'One event object a line (`x-item-schema`), events that move the stream carry `cursor`; `{"type":"heartbeat"}` ' +
        'on an idle stream; `end` is always last when the server ends it.',
      tags: ['Streams'],
      security: streamSecurity,
      parameters: oneWayParameters,
      responses: {
        '200': streamResponse('the event stream', 'application/x-ndjson', eventSchema, ndjsonExample),
        ...refusals,
      },
    },
  };
}

function pollPath() {
  return {
    get: {
      operationId: 'poll',
      summary: 'Long-poll / adaptive polling',
      description:
        'Answers at once with publications after the cursor (read from history: the channel needs history, 400 with 108 ' +
        'otherwise), else waits up to `wait` ms. Poll again with `cursor`; `nextPollMs` (and `X-Tidings-Poll-After-Ms`) ' +
        'says when. `ETag` is the cursor: `If-None-Match` with it and nothing new answers 304.',
      tags: ['Streams'],
      security: streamSecurity,
      parameters: [
        ...oneWayParameters,
        queryParameter('wait', pollQuerySchema.shape.wait),
        queryParameter('limit', pollQuerySchema.shape.limit),
        headerParameter('If-None-Match', 'the ETag of the previous reply'),
      ],
      responses: {
        '200': jsonResponse('publications and the next cursor', jsonSchemaOf(pollReplySchema, 'output'), {
          publications: [{ channel: 'demo:chat', offset: 1, epoch: '_-WQlu50', data: { text: 'hi' } }],
          cursor: 'AQEJZGVtbzpjaGF0CF8tV1FsdTUwAQ',
          nextPollMs: 1000,
        }),
        '304': { description: 'nothing new since the ETag in If-None-Match' },
        ...refusals,
      },
    },
  };
}

function emulationPaths(o: NonNullable<StreamPathsOptions['emulation']>): Record<string, unknown> {
  const bodyTooLarge = jsonResponse('body larger than emulation.maxBodyBytes', errorRef);
  return {
    [o.httpStreamPath]: {
      post: {
        operationId: 'emulation_http_stream',
        summary: 'centrifuge SDK `http_stream` transport',
        description:
          "Body: the connect command (JSON, or Protobuf with `application/octet-stream`). Response: the session's " +
          'Centrifuge protocol replies and pushes, one JSON object a line (Protobuf: varint-delimited).',
        tags: ['SDK emulation'],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'string', description: 'Centrifuge protocol connect command' },
              examples: { example: { value: '{"id":1,"connect":{"token":"<jwt>"}}' } },
            },
            'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
          },
        },
        responses: {
          '200': {
            description: 'the session stream',
            content: {
              'application/json': {
                schema: { type: 'string' },
                'x-item-schema': { type: 'object', description: 'a Centrifuge protocol reply or push (one a line)' },
              },
              'application/octet-stream': { schema: { type: 'string' } },
            },
          },
          '403': jsonResponse('origin not allowed', errorRef),
          '405': jsonResponse('not POST', errorRef),
          '413': bodyTooLarge,
          '503': jsonResponse('not ready', errorRef),
        },
      },
    },
    [o.path]: {
      post: {
        operationId: 'emulation_command',
        summary: 'Commands of an emulation session',
        description:
          '`EmulationRequest {node, session, data}` as the SDK sends it, JSON or Protobuf (`application/octet-stream`, ' +
          'fields node = 1, session = 2, data = 3). The replies arrive on the session stream.',
        tags: ['SDK emulation'],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: jsonSchemaOf(emulationJsonBodySchema, 'input'),
              examples: {
                example: { value: { node: 'n1', session: 's1', data: '{"id":2,"subscribe":{"channel":"a"}}' } },
              },
            },
            'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
          },
        },
        responses: {
          '204': { description: 'the commands were handed to the session' },
          '400': jsonResponse('body is not an EmulationRequest (107)', errorRef, {
            error: { code: 107, message: 'session is missing' },
          }),
          '403': jsonResponse('origin not allowed', errorRef),
          '404': jsonResponse('no such session on this node: reconnect', errorRef),
          '405': jsonResponse('not POST', errorRef),
          '413': bodyTooLarge,
          '503': jsonResponse('not ready', errorRef),
        },
      },
    },
  };
}

function websocketPath() {
  return {
    get: {
      operationId: 'websocket',
      summary: 'WebSocket: Centrifuge client protocol v2',
      description:
        'Upgrade to WebSocket (`Upgrade: websocket`). Subprotocol `centrifuge-protobuf` selects Protobuf, ' +
        '`tidings-msgpack` MessagePack, none JSON. See docs/protocol.md. A plain GET without Upgrade answers 404.',
      tags: ['Streams'],
      responses: {
        '101': { description: 'switching to the WebSocket protocol' },
        '403': { description: 'origin not allowed (the upgrade is refused)' },
        '404': jsonResponse('not a WebSocket upgrade', errorRef),
      },
    },
  };
}

/** The paths of the stream endpoints the node serves, from the zod schemas their handlers validate with. */
export function streamPaths(options: StreamPathsOptions): OpenApiPaths {
  const paths: Record<string, unknown> = {};
  if (options.websocket !== undefined) paths[options.websocket] = websocketPath();
  if (options.emulation !== undefined) Object.assign(paths, emulationPaths(options.emulation));
  const emulatedSse = options.emulation?.ssePath;
  if (options.sse !== undefined) paths[options.sse] = ssePath(emulatedSse === options.sse);
  if (emulatedSse !== undefined && emulatedSse !== options.sse) paths[emulatedSse] = emulationSsePath();
  if (options.httpStream !== undefined) paths[options.httpStream] = ndjsonPath();
  if (options.poll !== undefined) paths[options.poll] = pollPath();
  return paths as OpenApiPaths;
}
