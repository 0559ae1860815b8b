import type { NamespaceOptions } from '@tidings/server';
import { z } from 'zod';
import { ingestSchema, outboxSchema } from './ingest-schema.js';
import { mqttSchema } from './mqtt-schema.js';

// The one source of defaults, validation, env names (config/fields.ts) and docs (config/docs.ts).
// Keep it free of transforms that JSON Schema cannot express, except where noted: the docs and the
// env mapping read `z.toJSONSchema(configSchema, { io: 'input' })`.

const kib = 1024;
const mib = 1024 * kib;
const minute = 60_000;

const duration = (min = 1) => z.int().min(min);
const flag = (description: string) => z.boolean().default(false).describe(description);

const jwtAlgorithms = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'] as const;
/** Shortest HMAC secret accepted, in bytes (RFC 7518 §3.2: at least the hash size for HS256). */
export const minHmacSecretBytes = 32;
/** Shortest API key accepted, in characters. */
export const minApiKeyLength = 16;
/** Most worker processes `workers` accepts. */
export const maxWorkers = 256;

const httpSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1').describe('Interface to bind. Use "0.0.0.0" to accept remote clients.'),
    port: z.int().min(0).max(65535).default(8000).describe('TCP port; 0 picks a free port (the bound URL is logged).'),
    backlog: z
      .int()
      .min(1)
      .max(65535)
      .default(4096)
      .describe(
        'Connections the kernel queues before they are accepted (listen backlog, capped by net.core.somaxconn). Node defaults to 511, which a reconnect storm of a few thousand clients overflows: the dropped ones retry only after 1 s.',
      ),
    maxConnectionsPerIp: z
      .int()
      .min(1)
      .optional()
      .describe('Open TCP connections allowed per remote address; further ones are closed at once. Unset = no limit.'),
    maxHeaderBytes: z
      .int()
      .min(1 * kib)
      .max(1 * mib)
      .default(16 * kib)
      .describe('Largest request head (request line and headers); a larger one is answered 431 and closed.'),
    headersTimeoutMs: duration()
      .default(20_000)
      .describe(
        'Time a client has to send the complete request head (slow-loris protection); then 408 and close. At most requestTimeoutMs.',
      ),
    requestTimeoutMs: duration()
      .default(60_000)
      .describe(
        'Time a client has to send the complete request, body included; then 408 and close. Long-lived responses (streams) are not limited by it.',
      ),
    shutdownTimeoutMs: duration()
      .default(10_000)
      .describe('On SIGTERM/SIGINT, time allowed for a graceful stop before the process is forced to exit.'),
    compression: z
      .boolean()
      .default(false)
      .describe(
        'Compress SSE and NDJSON streams (br, else gzip) for clients whose Accept-Encoding asks for it, flushed per event. Costs CPU and a compressor per stream.',
      ),
    tls: z
      .strictObject({
        certFile: z.string().min(1).describe('PEM certificate chain file.'),
        keyFile: z.string().min(1).describe('PEM private key file.'),
      })
      .optional()
      .describe(
        'Serve HTTPS: HTTP/2 (ALPN h2) and HTTP/1.1 on the same port; WebSocket upgrades use HTTP/1.1. Unset = plain HTTP.',
      ),
    h2c: z
      .boolean()
      .default(false)
      .describe(
        'Also serve cleartext HTTP/2 with prior knowledge (h2c: gRPC without TLS, proxies speaking h2c) on the HTTP/1.1 port; connections are told apart by the HTTP/2 preface, so HTTP/1.1 and WebSocket keep working. Not with tls.',
      ),
    maxStreamsPerConnection: z
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('Concurrent HTTP/2 streams (requests) allowed per connection (SETTINGS_MAX_CONCURRENT_STREAMS).'),
  })
  .superRefine((h, ctx) => {
    if (h.h2c && h.tls !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['h2c'], message: 'h2c is cleartext: unset it when http.tls is set' });
    }
  })
  .prefault({})
  .describe('HTTP listener.');

const memoryEngineSchema = z.strictObject({
  type: z
    .literal('memory')
    .describe(
      'Engine kind: "memory" (one node, no dependencies, history lost on restart), "redis" or "nats" (any number of nodes share one Redis or NATS JetStream).',
    ),
});

const redisEngineSchema = z.strictObject({
  type: z.literal('redis').describe('"redis": any number of nodes share one Redis; history and presence live there.'),
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379')
    .meta({ secret: true })
    .describe('Redis URL (engine "redis"; default redis://127.0.0.1:6379); may carry a password.'),
  prefix: z
    .string()
    .min(1)
    .regex(/^[^{}]*$/, 'must not contain braces (they choose the Redis Cluster slot)')
    .default('tidings:')
    .describe('Prefix of every Redis key and pub/sub channel (engine "redis"; default "tidings:").'),
  connectTimeoutMs: duration()
    .default(2_000)
    .describe('How long connecting to Redis may take (engine "redis"; default 2000).'),
  commandTimeoutMs: duration()
    .default(2_000)
    .describe('How long a Redis command may take before the request fails with 503 (engine "redis"; default 2000).'),
  shardedPubSub: z
    .boolean()
    .optional()
    .describe(
      'Sharded pub/sub (Redis 7+): SPUBLISH / SSUBSCRIBE, so each message goes only to the shard owning its channel (engine "redis"; default false, implied by cluster).',
    ),
  cluster: z
    .boolean()
    .optional()
    .describe(
      'Connect to a Redis Cluster with engine.url as the root node (engine "redis"; default false). Uses sharded pub/sub.',
    ),
  clusterNodes: z
    .array(z.string().regex(/^rediss?:\/\/[^/]/, 'must be a redis:// or rediss:// URL'))
    .min(1)
    .optional()
    .meta({ secret: true })
    .describe(
      'Redis Cluster root node URLs; setting it connects to a cluster (engine "redis"; engine.url is then unused). Credentials and TLS of the first apply to every node; may carry a password.',
    ),
});

const natsEngineSchema = z.strictObject({
  type: z.literal('nats').describe('"nats": any number of nodes share one NATS JetStream.'),
  servers: z
    .array(z.string().min(1))
    .min(1)
    .default(['127.0.0.1:4222'])
    .describe('NATS servers, `host:port` or `nats://host:port` (engine "nats"; default 127.0.0.1:4222).'),
  streamName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('TIDINGS')
    .describe(
      'JetStream stream name; presence and idempotency use `<name>_PRESENCE` and `_IDEMPOTENCY` (engine "nats").',
    ),
  subjectPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens of letters, digits, "_" and "-"')
    .default('tidings')
    .describe('Prefix of every NATS subject (engine "nats"; default "tidings").'),
  maxMessagesPerChannel: z
    .int()
    .min(1)
    .default(1000)
    .describe('Stream max_msgs_per_subject: the largest history size any namespace can get (engine "nats").'),
  connectTimeoutMs: duration().default(2_000).describe('How long connecting to NATS may take (engine "nats").'),
  requestTimeoutMs: duration()
    .default(2_000)
    .describe('How long a JetStream request may take before the request fails with 503 (engine "nats").'),
});

// A discriminated union: each engine is a branch with its own options.
const engineSchema = z
  .discriminatedUnion('type', [memoryEngineSchema, redisEngineSchema, natsEngineSchema])
  .superRefine((e, ctx) => {
    // Plain PUBLISH on a cluster is broadcast to every shard; the cluster engine needs SPUBLISH.
    if (e.type === 'redis' && (e.cluster === true || e.clusterNodes !== undefined) && e.shardedPubSub === false) {
      ctx.addIssue({ code: 'custom', path: ['shardedPubSub'], message: 'a Redis Cluster needs sharded pub/sub' });
    }
  })
  .prefault({ type: 'memory' })
  .describe('Broker, history and presence engine.');

const clientSchema = z
  .strictObject({
    pingIntervalMs: duration(1000).default(25_000).describe('Interval of server pings to each client.'),
    pongTimeoutMs: duration()
      .default(8_000)
      .describe('How long a pong may take after a ping before the client is disconnected (3012).'),
    maxQueueBytes: z
      .int()
      .min(kib)
      .default(mib)
      .describe('Outbound bytes queued per client; beyond it the client is disconnected as slow (3008).'),
    maxSubscriptions: z
      .int()
      .min(1)
      .default(128)
      .describe('Subscriptions per client; beyond it subscribe fails (106).'),
    maxCommandsPerFrame: z
      .int()
      .min(1)
      .default(256)
      .describe('Commands in one frame; beyond it the client is disconnected (3501).'),
    maxPendingCommands: z
      .int()
      .min(1)
      .default(1024)
      .describe('Commands waiting to be processed per client; beyond it the client is disconnected (3013).'),
    commandRatePerConnection: z
      .number()
      .min(0)
      .default(1000)
      .describe(
        'Commands a second one connection may send (token bucket, burst of one second); beyond it the command answers 111. 0 = off.',
      ),
    commandRatePerUser: z
      .number()
      .min(0)
      .default(0)
      .describe(
        'Commands a second all connections of one user may send (across all nodes on the Redis engine, else per node); beyond it 111. 0 = off.',
      ),
    commandRatePerIp: z
      .number()
      .min(0)
      .default(0)
      .describe(
        'Commands a second all connections from one IP address may send (across all nodes on the Redis engine, else per node); beyond it 111. 0 = off.',
      ),
    publishRatePerConnection: z
      .number()
      .min(0)
      .default(0)
      .describe('Publishes a second one connection may send; beyond it 111. 0 = off.'),
    publishRatePerUser: z
      .number()
      .min(0)
      .default(0)
      .describe(
        'Publishes a second one user may send (across all nodes on the Redis engine, else per node); beyond it 111. 0 = off.',
      ),
    publishRatePerIp: z
      .number()
      .min(0)
      .default(0)
      .describe(
        'Publishes a second one IP address may send (across all nodes on the Redis engine, else per node); beyond it 111. 0 = off.',
      ),
    maxConnectionsPerUser: z
      .int()
      .min(0)
      .default(0)
      .describe('Connected clients of one user on this node; a connect beyond it is disconnected (3504). 0 = off.'),
    maxConnectionsPerIp: z
      .int()
      .min(0)
      .default(0)
      .describe(
        'Connected clients from one IP address on this node; a connect beyond it is disconnected (3504). 0 = off.',
      ),
    maxRecoveryBuffer: z
      .int()
      .min(1)
      .default(10_000)
      .describe('Live publications buffered per subscription while its history is read for recovery.'),
    expiredCloseDelayMs: z
      .int()
      .min(0)
      .default(25_000)
      .describe('Grace after a token expires before the client is disconnected (3005) unless it refreshed.'),
    connectTimeoutMs: duration().default(10_000).describe('Time a new connection has to send its connect command.'),
    writeDelayMs: z
      .int()
      .min(0)
      .max(1000)
      .default(0)
      .describe(
        'Delay before queued output is written; 0 = next event-loop turn. A few ms packs more pushes per write, for that much latency.',
      ),
    pushFraming: z
      .enum(['batch', 'separate'])
      .default('batch')
      .describe(
        'How the pushes leaving together for a WebSocket or emulation client are framed: "batch" = one frame (the Centrifuge protocol batching), "separate" = one frame each, for centrifuge-js before 5.8 in Node.',
      ),
    presenceTtlMs: duration(1000).default(minute).describe('Lifetime of a presence entry unless refreshed.'),
    presenceRefreshMs: duration(1000).default(25_000).describe('Interval of presence refreshes while subscribed.'),
    allowAnonymous: flag('Accept connections without a token (user id "").'),
  })
  .superRefine((c, ctx) => {
    if (c.pongTimeoutMs >= c.pingIntervalMs) {
      ctx.addIssue({ code: 'custom', path: ['pongTimeoutMs'], message: 'must be shorter than client.pingIntervalMs' });
    }
    if (c.presenceRefreshMs >= c.presenceTtlMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['presenceRefreshMs'],
        message: 'must be shorter than client.presenceTtlMs',
      });
    }
  })
  .prefault({})
  .describe('Per-connection limits and timings.');

const websocketSchema = z
  .strictObject({
    path: z
      .string()
      .regex(/^\/\S*$/, 'must start with "/"')
      .default('/connection/websocket')
      .describe('URL path of the WebSocket endpoint.'),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Browser origins allowed besides the server\'s own (e.g. "https://app.example.com", "https://*.example.com", "*"), for every browser transport: WebSocket, SSE, NDJSON and poll. Others get 403; allowed cross-origin requests get CORS headers. Empty: same origin, and clients that send no Origin.',
      ),
    maxFrameBytes: z
      .int()
      .min(kib)
      .default(64 * kib)
      .describe('Largest incoming frame; larger ones close the connection.'),
    compression: z
      .boolean()
      .default(false)
      .describe(
        'Negotiate permessage-deflate without server context takeover: each publication is compressed once and shared by all subscribers; replies and batches are compressed per connection (CPU and memory per connection).',
      ),
  })
  .prefault({})
  .describe('WebSocket transport (Centrifuge protocol v2).');

const streamPath = (path: string) =>
  z
    .string()
    .regex(/^\/\S*$/, 'must start with "/"')
    .default(path);
const heartbeatIntervalMs = () =>
  duration(1000).default(15_000).describe('Keep-alive output on an idle stream, so proxies do not cut it.');

const sseSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve Server-Sent Events streams.'),
    path: streamPath('/connection/sse').describe('URL path of the SSE endpoint.'),
    heartbeatIntervalMs: heartbeatIntervalMs(),
    retryMs: duration(0).default(3_000).describe('Reconnection delay advised to browsers (`retry:`).'),
  })
  .prefault({})
  .describe('Server-Sent Events transport (one-way; see docs/transports.md).');

const httpStreamSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve NDJSON streams.'),
    path: streamPath('/connection/stream').describe('URL path of the NDJSON streaming endpoint.'),
    heartbeatIntervalMs: heartbeatIntervalMs(),
  })
  .prefault({})
  .describe('NDJSON streaming transport (one-way; see docs/transports.md).');

const emulationSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Serve bidirectional emulation for the centrifuge SDKs (their http_stream and sse transports).'),
    httpStreamPath: streamPath('/connection/http_stream').describe(
      'URL path where the SDK POSTs its connect command and reads the stream of replies (http_stream).',
    ),
    ssePath: streamPath('/connection/sse').describe(
      "URL path of the SDK's sse transport (GET with `cf_connect`). May equal sse.path: requests without `cf_connect` go to the one-way SSE endpoint.",
    ),
    path: streamPath('/emulation').describe(
      'URL path the SDK POSTs further commands to (`{ node, session, data }`). Set the SDK option `emulationEndpoint` to it.',
    ),
    maxBodyBytes: z
      .int()
      .min(kib)
      .default(64 * kib)
      .describe('Largest accepted emulation POST body (a connect command or a batch of commands).'),
  })
  .prefault({})
  .describe('Bidirectional emulation (HTTP stream / SSE + POST) for SDKs whose WebSockets are blocked.');

const pollSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve long-poll and adaptive polling.'),
    path: streamPath('/connection/poll').describe('URL path of the poll endpoint.'),
    timeoutMs: duration(0)
      .default(25_000)
      .describe(
        'Longest a poll waits for a publication before answering with none (clients may ask less with `?wait=`).',
      ),
    minIntervalMs: duration(0).default(1_000).describe('Shortest interval advised between polls (a busy channel).'),
    maxIntervalMs: duration().default(30_000).describe('Longest interval advised between polls (a quiet channel).'),
    maxPublications: z
      .int()
      .min(1)
      .max(10_000)
      .default(100)
      .describe('Most publications in one poll reply; the cursor continues after them.'),
  })
  .superRefine((p, ctx) => {
    if (p.minIntervalMs > p.maxIntervalMs) {
      ctx.addIssue({ code: 'custom', path: ['minIntervalMs'], message: 'must not exceed poll.maxIntervalMs' });
    }
  })
  .prefault({})
  .describe('Long-poll and adaptive polling (one-way; see docs/transports.md).');

const jwtKeySchema = z
  .strictObject({
    kid: z.string().min(1).optional().describe('Matched against the token header `kid`.'),
    alg: z.enum(jwtAlgorithms).describe('The only algorithm this key verifies.'),
    secret: z
      .string()
      .optional()
      .meta({ secret: true })
      .describe(`HMAC secret (HS*), at least ${minHmacSecretBytes} bytes.`),
    publicKey: z.string().optional().describe('PEM SPKI public key for RS*, ES* and EdDSA.'),
  })
  .superRefine((key, ctx) => {
    const hmac = key.alg.startsWith('HS');
    if (hmac && key.secret === undefined)
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `${key.alg} needs a secret` });
    if (hmac && key.secret !== undefined && Buffer.byteLength(key.secret) < minHmacSecretBytes) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `must be at least ${minHmacSecretBytes} bytes long` });
    }
    if (hmac && key.publicKey !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: `${key.alg} takes a secret, not a publicKey` });
    }
    if (!hmac && key.publicKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['publicKey'], message: `${key.alg} needs a PEM publicKey` });
    }
    if (!hmac && key.secret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `${key.alg} takes a publicKey, not a secret` });
    }
  });

const authSchema = z
  .strictObject({
    keys: z.array(jwtKeySchema).default([]).describe('Keys that verify connection and subscription tokens (JWT).'),
    hmacSecret: z
      .string()
      .min(minHmacSecretBytes)
      .optional()
      .meta({ secret: true })
      .describe('Shortcut: adds one HS256 key with this secret to auth.keys.'),
    audience: z.string().min(1).optional().describe('When set, tokens must carry this `aud`.'),
    issuer: z.string().min(1).optional().describe('When set, tokens must carry this `iss`.'),
    requireExp: z.boolean().default(true).describe('Reject tokens without an `exp` claim.'),
    maxTokenLifetimeSec: z
      .number()
      .int()
      .positive()
      .default(30 * 24 * 3600)
      .describe('Longest token lifetime accepted: `exp` at most this far ahead, `exp - iat` at most this long.'),
  })
  // The shortcut is folded into `keys` so consumers read one list.
  .transform(({ hmacSecret, ...auth }) =>
    hmacSecret === undefined ? auth : { ...auth, keys: [...auth.keys, { alg: 'HS256' as const, secret: hmacSecret }] },
  )
  .prefault({})
  .describe('Token verification.');

const apiSchema = z
  .strictObject({
    keys: z
      .array(z.string().min(minApiKeyLength))
      .default([])
      .meta({ secret: true })
      .describe('Keys accepted by the server API (`X-API-Key` header). Empty: the API answers 401.'),
    maxBodyBytes: z.int().min(kib).default(mib).describe('Largest accepted API request body.'),
    requestRatePerKey: z
      .int()
      .min(0)
      .default(0)
      .describe(
        'API requests a second per API key; beyond it 429 (code 111) with Retry-After. Cluster-wide on the Redis engine. 0 = no limit.',
      ),
    stateMaxAgeSec: z
      .int()
      .min(0)
      .default(0)
      .describe(
        '`Cache-Control: max-age` of `GET /api/state` answers, in seconds; 0 = `no-cache` (caches revalidate with the ETag).',
      ),
  })
  .prefault({})
  .describe('Server HTTP API (/api/*).');

const grpcSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Serve the server API as Connect, gRPC-Web (HTTP/1.1 and HTTP/2) and gRPC (HTTP/2: http.tls with ALPN h2, or http.h2c) on the main port, under /tidings.api.v1.ApiService/. Same API keys as api.keys.',
      ),
    maxMessageBytes: z.int().min(kib).default(mib).describe('Largest accepted request message.'),
    reflection: z
      .boolean()
      .default(true)
      .describe(
        'Serve gRPC server reflection (grpc.reflection.v1 and v1alpha) so generic tools can list the services.',
      ),
  })
  .prefault({})
  .describe('Server API over Connect, gRPC and gRPC-Web (docs/grpc.md).');

const namespaceShape = {
  historySize: z.int().min(0).default(0).describe('Publications kept per channel; 0 = no history (and no recovery).'),
  historyTtlMs: z.int().min(0).default(0).describe('How long a publication is kept in history.'),
  historyMetaTtlMs: duration()
    .default(30 * 24 * 60 * minute)
    .describe('How long stream metadata (top offset and epoch) outlives the last publication.'),
  allowRecovery: flag('Clients may subscribe with `recover` (needs history).'),
  forceRecovery: flag('Every subscription is recoverable, whether or not the client asks (needs history).'),
  allowPositioning: flag('Clients may ask for positioned streams.'),
  forcePositioning: flag('Every subscription is positioned: offsets are checked for contiguity on delivery.'),
  presence: flag('Keep presence (who is subscribed) for channels of this namespace.'),
  joinLeave: flag('Send join/leave pushes to subscribers that ask for them.'),
  forcePushJoinLeave: flag('Send join/leave pushes to every subscriber.'),
  allowSubscribeForClient: flag('Authenticated clients may subscribe without a subscription token.'),
  allowSubscribeForAnonymous: flag('Anonymous clients may subscribe without a subscription token.'),
  allowPublishForSubscriber: flag('Subscribers of a channel may publish into it.'),
  allowPublishForClient: flag('Any authenticated client may publish, subscribed or not.'),
  allowPublishForAnonymous: flag('Anonymous clients may publish.'),
  allowHistoryForSubscriber: flag('Subscribers may read the channel history.'),
  allowHistoryForClient: flag('Any authenticated client may read the channel history.'),
  allowHistoryForAnonymous: flag('Anonymous clients may read the channel history.'),
  allowPresenceForSubscriber: flag('Subscribers may read the channel presence.'),
  allowPresenceForClient: flag('Any authenticated client may read the channel presence.'),
  allowPresenceForAnonymous: flag('Anonymous clients may read the channel presence.'),
  allowUserLimitedChannels: flag('Channels ending in `#user1,user2` may only be subscribed by those users.'),
  channelRegex: z
    .string()
    .min(1)
    .optional()
    .describe('When set, the part of the channel name after `ns:` must match this regular expression.'),
  state: flag(
    'State channel: keep the latest JSON document per channel, and per `key` tag; subscribers get a snapshot, then updates (docs/state.md).',
  ),
  stateTtlMs: z
    .int()
    .min(0)
    .default(0)
    .describe("How long a state channel's documents outlive its last publication; 0 = kept until removed."),
  maxRate: z
    .number()
    .min(0)
    .max(1000)
    .default(0)
    .describe(
      'Most updates a second a subscriber gets per key (latest value kept between sends); subscribers may ask for less. 0 = no cap.',
    ),
  slowConsumer: z
    .enum(['disconnect', 'conflate', 'skip'])
    .default('disconnect')
    .describe(
      'A subscriber whose queue passes half of client.maxQueueBytes: disconnect (3008 once full), conflate (latest per key until it drains) or skip (drop, then a gap marker).',
    ),
  allowDelta: flag('Subscribers may ask for `delta: fossil` delta compression (Centrifuge protocol).'),
} satisfies Record<keyof NamespaceOptions, z.ZodType>;

const namespaceSchema = z.strictObject(namespaceShape).superRefine((ns, ctx) => {
  const needsHistory = ns.allowRecovery || ns.forceRecovery;
  if (needsHistory && (ns.historySize === 0 || ns.historyTtlMs === 0)) {
    ctx.addIssue({
      code: 'custom',
      path: [ns.forceRecovery ? 'forceRecovery' : 'allowRecovery'],
      message: 'recovery needs history: set historySize and historyTtlMs above 0',
    });
  }
  if ((ns.historySize === 0) !== (ns.historyTtlMs === 0)) {
    ctx.addIssue({
      code: 'custom',
      path: ['historyTtlMs'],
      message: 'historySize and historyTtlMs are both 0 or both set',
    });
  }
  if (ns.channelRegex !== undefined) {
    try {
      new RegExp(ns.channelRegex);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['channelRegex'], message: 'is not a valid regular expression' });
    }
  }
});

const channelsSchema = z
  .strictObject({
    defaults: namespaceSchema.prefault({}).describe('Rules of channels without a namespace (no ":" in the name).'),
    namespaces: z
      .record(
        z.string().regex(/^[A-Za-z0-9_\-.]+$/, 'a namespace name holds letters, digits, "_", "-", "."'),
        namespaceSchema,
      )
      .default({})
      .describe('Rules per namespace: channel "ns:rest" uses namespaces.ns. Unknown namespaces are rejected (102).'),
    maxChannelLength: z.int().min(1).max(1024).default(255).describe('Longest accepted channel name, in bytes.'),
  })
  .prefault({})
  .describe('Channel namespaces and rules. Everything is denied unless enabled.');

const proxyEndpointSchema = z.strictObject({
  url: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
    .describe('Backend URL the JSON request is POSTed to (Centrifugo proxy format).'),
  timeoutMs: duration().optional().describe('Per attempt; default proxy.timeoutMs.'),
});
const proxyEndpoint = (what: string) => proxyEndpointSchema.optional().describe(what);

const namespaceProxySchema = z.strictObject({
  subscribe: proxyEndpoint(
    "Asked when a client subscribes without a subscription token; replaces the namespace's subscribe permissions.",
  ),
  publish: proxyEndpoint(
    'Asked when a client publishes; may refuse or rewrite the data. Replaces the publish permissions. Never retried.',
  ),
  subRefresh: proxyEndpoint('Asked when a subscription the subscribe proxy granted with an expire_at expires.'),
  rpc: proxyEndpoint('Answers RPCs whose method is "<namespace>:<name>". Never retried.'),
});

const proxySchema = z
  .strictObject({
    connect: proxyEndpoint(
      'Authenticates connections that come without a token (from their forwarded cookies/headers).',
    ),
    refresh: proxyEndpoint('Refreshes, server-side, connections the connect proxy gave an expire_at.'),
    rpc: proxyEndpoint('Answers RPCs whose method has no namespace with an rpc proxy.'),
    defaults: namespaceProxySchema.optional().describe('Channel proxies of channels without a namespace.'),
    namespaces: z
      .record(
        z.string().regex(/^[A-Za-z0-9_\-.]+$/, 'a namespace name holds letters, digits, "_", "-", "."'),
        namespaceProxySchema,
      )
      .default({})
      .describe('Channel proxies per namespace; a namespace without one keeps its channels.namespaces permissions.'),
    httpHeaders: z
      .array(z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, 'an HTTP header name'))
      .default([])
      .describe(
        'Request headers forwarded to the backend (allow-list, case-insensitive). "cookie" is governed by proxy.cookies.',
      ),
    cookies: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Cookies forwarded to the backend in a Cookie header (allow-list of names); others never leave the node.',
      ),
    staticHeaders: z
      .record(
        z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, 'an HTTP header name'),
        z.string().describe('Header value.'),
      )
      .default({})
      .meta({ secret: true })
      .describe('Headers added to every backend request, e.g. a shared secret the backend checks.'),
    timeoutMs: duration()
      .default(1000)
      .describe(
        'Time a backend has to answer one attempt; then the client gets reply error 100 "backend timeout" (temporary).',
      ),
    retries: z
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe(
        'Extra attempts after a connection error or HTTP 502/503/504, for idempotent calls only (connect, refresh, subscribe, subRefresh).',
      ),
    maxResponseBytes: z.int().min(kib).default(mib).describe('Largest backend reply accepted.'),
  })
  .prefault({})
  .describe('Backend proxies: Tidings asks the application (Centrifugo-compatible JSON over HTTP). See docs/proxy.md.');

const logSchema = z
  .strictObject({
    level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info')
      .describe('Lowest level logged.'),
    pretty: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .describe('Human-readable logs instead of JSON lines; "auto" = when stdout is a terminal.'),
  })
  .prefault({})
  .describe('Logging (pino).');

const metricsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Serve Prometheus metrics at `GET /metrics` and measure deliveries, latency, disconnects and engine calls.',
      ),
    token: z
      .string()
      .min(16)
      .optional()
      .meta({ secret: true })
      .describe(
        'When set, `/metrics` needs `Authorization: Bearer <token>`; otherwise it is open to anyone who reaches the port.',
      ),
    port: z
      .int()
      .min(0)
      .max(65_535)
      .optional()
      .describe('Serve `/metrics` on its own listener on this port (0 = any free port) instead of the main one.'),
    host: z.string().min(1).default('127.0.0.1').describe('Address of the own metrics listener (`metrics.port`).'),
    defaultMetrics: z
      .boolean()
      .default(true)
      .describe("Include prom-client's process and Node.js metrics (event-loop lag, GC, heap)."),
  })
  .prefault({})
  .describe('Prometheus metrics (prom-client).');

const canarySchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Run the canary probe: publish into its reserved channel `$tidings:canary.<id>` every `intervalMs` and measure its delivery through the hub and each enabled transport (metrics `tidings_canary_*`).',
      ),
    intervalMs: duration(100).default(5_000).describe('How often the canary publishes.'),
    timeoutMs: duration(10)
      .default(2_000)
      .describe(
        'A probe that has not received a canary publication this long after it was published counts a `timeout` failure; at most `intervalMs`.',
      ),
  })
  .superRefine((c, ctx) => {
    if (c.timeoutMs > c.intervalMs) {
      ctx.addIssue({ code: 'custom', path: ['timeoutMs'], message: 'must not exceed canary.intervalMs' });
    }
  })
  .prefault({})
  .describe('Canary probe: observed end-to-end delivery, per transport.');

const tracingSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Record OpenTelemetry spans (API request → engine publish → fan-out, proxy calls) and export them over OTLP/HTTP. Also turned on by `otlpEndpoint` or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` environment variables.',
      ),
    otlpEndpoint: z
      .url()
      .optional()
      .describe(
        'OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. Default: the standard `OTEL_EXPORTER_OTLP_*` environment variables, else `http://localhost:4318/v1/traces`.',
      ),
    serviceName: z.string().min(1).default('tidings').describe('`service.name` of the exported spans.'),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Share of new traces recorded (0 to 1); a request with a `traceparent` follows its sampled flag.'),
  })
  .prefault({})
  .describe('OpenTelemetry tracing over OTLP/HTTP (JSON).');
const adminSchema = z
  .strictObject({
    password: z
      .string()
      .min(12)
      .optional()
      .meta({ secret: true })
      .describe(
        'Password of the admin console at `/admin` (at least 12 characters). Unset, and no admin.token: the console is off (404).',
      ),
    token: z
      .string()
      .min(16)
      .optional()
      .meta({ secret: true })
      .describe(
        'Token for the admin JSON API (`Authorization: Bearer <token>`, for scripts); the login form accepts it too.',
      ),
    sessionTtlMs: duration(60_000)
      .default(8 * 60 * minute)
      .describe('Lifetime of an admin console login (session cookie).'),
  })
  .prefault({})
  .describe('Admin console at `/admin` (see docs/admin.md).');

/** The Tidings server configuration: every option, its default and its validation. */
export const configSchema = z
  .strictObject({
    http: httpSchema,
    engine: engineSchema,
    client: clientSchema,
    websocket: websocketSchema,
    sse: sseSchema,
    httpStream: httpStreamSchema,
    poll: pollSchema,
    emulation: emulationSchema,
    auth: authSchema,
    api: apiSchema,
    grpc: grpcSchema,
    channels: channelsSchema,
    proxy: proxySchema,
    log: logSchema,
    mqtt: mqttSchema,
    metrics: metricsSchema,
    canary: canarySchema,
    tracing: tracingSchema,
    admin: adminSchema,
    outbox: outboxSchema,
    ingest: ingestSchema,
    idempotencyWindowMs: duration()
      .default(5 * minute)
      .describe('How long a publish idempotency key is remembered; a repeat inside it returns the first result.'),
    idempotencyMaxKeys: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe(
        'Memory engine: most idempotency keys remembered at once; past it the oldest keys are forgotten first.',
      ),
    idempotencyMaxBytes: z
      .number()
      .int()
      .positive()
      .default(16 * 1024 * 1024)
      .describe(
        'Memory engine: most bytes the idempotency keys may hold; past it the oldest keys are forgotten first.',
      ),
    workers: z
      .union([z.int().min(1).max(maxWorkers), z.literal('auto')])
      .default(1)
      .describe(
        'Server processes sharing the port (node:cluster); "auto" = one per core (os.availableParallelism()). Above 1, a primary process supervises them; with engine "memory" it owns the one engine and relays publications between workers.',
      ),
  })
  .describe('Tidings server configuration.');

/** A validated configuration with every default filled in. */
export type TidingsConfig = z.output<typeof configSchema>;
/** What a config file (or an overlay) may contain: every option is optional. */
export type ConfigInput = z.input<typeof configSchema>;
/** One namespace's resolved rules. */
export type NamespaceConfig = z.output<typeof namespaceSchema>;
/** One JWT verification key. */
export type JwtKeyConfig = TidingsConfig['auth']['keys'][number];
