import { z } from 'zod';

// The `outbox` and `ingest` sections (packages/ingest, docs/outbox.md, docs/ingest.md). Kept in
// their own file so schema.ts only gains one import and two keys.

const duration = (min = 1) => z.int().min(min);
const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,50}$/, 'a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 51 characters)');
const template = z
  .string()
  .min(1)
  .describe(
    'Channel template: text with {placeholders} naming source variables (see docs/ingest.md), {var.N} for the Nth dot-separated token, {data.PATH} for a JSON field of the payload.',
  );
const onUnmapped = z
  .enum(['dead-letter', 'drop'])
  .default('dead-letter')
  .describe(
    'A message that maps to no channel, or whose channel the node refuses: "dead-letter" (per source, see docs/ingest.md) or "drop" (logged at warn and acked).',
  );

/** The PostgreSQL outbox consumer. */
export const outboxSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Consume the outbox table (docs/outbox.md); needs outbox.url.'),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional()
      .meta({ secret: true })
      .describe('PostgreSQL URL; may carry a password.'),
    schema: identifier.default('public').describe('Schema of the outbox table.'),
    table: identifier
      .default('tidings_outbox')
      .describe('Outbox table; rows whose channel is refused move to <table>_failed.'),
    notifyChannel: identifier
      .default('tidings_outbox')
      .describe('LISTEN/NOTIFY channel the insert trigger notifies (`tidings outbox init` creates the trigger).'),
    batchSize: z.int().min(1).max(10_000).default(100).describe('Rows taken (locked) per transaction.'),
    pollIntervalMs: duration(10)
      .default(1000)
      .describe('Poll this often even without a NOTIFY (a wake-up missed while the LISTEN connection was down).'),
    retryDelayMs: duration().default(500).describe('Wait after a failed batch (database or engine down).'),
    ordered: z
      .boolean()
      .default(false)
      .describe(
        'One batch at a time across all nodes (an advisory lock), so rows are published in id order; default false: nodes take batches side by side, and rows of one channel may then be published out of id order.',
      ),
    maxConnections: z.int().min(1).max(100).default(2).describe('Pool size (one more connection holds the LISTEN).'),
  })
  .superRefine((o, ctx) => {
    if (o.enabled && o.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required when outbox.enabled' });
  })
  .prefault({})
  .describe('PostgreSQL outbox (packages/ingest, docs/outbox.md).');

const redisStreamsSource = z.strictObject({
  type: z
    .literal('redis-streams')
    .describe(
      'Source kind: "redis-streams" (a consumer group), "nats-jetstream" (a durable pull consumer) or "rabbitmq" (a queue with manual acks).',
    ),
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379')
    .meta({ secret: true })
    .describe(
      'Redis URL (redis-streams; default redis://127.0.0.1:6379) or AMQP URL (rabbitmq; default amqp://127.0.0.1:5672); may carry a password.',
    ),
  streams: z.array(z.string().min(1)).min(1).describe('Stream keys to read (redis-streams).'),
  group: z.string().min(1).default('tidings').describe('Consumer group (created with MKSTREAM when missing).'),
  consumer: z.string().min(1).optional().describe('Consumer name of this node in the group; unset = <hostname>-<pid>.'),
  channel: template,
  dataField: z.string().min(1).default('data').describe('Entry field holding the payload.'),
  startId: z
    .string()
    .min(1)
    .default('$')
    .describe('Where a newly created group starts: "$" (new entries) or "0" (all).'),
  batchSize: z.int().min(1).max(10_000).default(100).describe('Entries per XREADGROUP.'),
  blockMs: duration().default(1000).describe('XREADGROUP BLOCK time.'),
  claimIdleMs: duration(100)
    .default(30_000)
    .describe('Entries pending this long with another consumer (a dead node) are taken over with XAUTOCLAIM.'),
  onUnmapped,
  deadLetterStream: z
    .string()
    .min(1)
    .default('{stream}:dead')
    .describe('Dead-letter stream ({stream} is replaced); entries get `error` and `source_id` fields.'),
});

const jetStreamSource = z.strictObject({
  type: z.literal('nats-jetstream').describe('"nats-jetstream": a durable pull consumer.'),
  servers: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .default('nats://127.0.0.1:4222')
    .describe('NATS server URL(s).'),
  stream: z.string().min(1).describe('JetStream stream (nats-jetstream; the application creates it).'),
  durable: z.string().min(1).default('tidings').describe('Durable consumer shared by every node.'),
  filterSubject: z.string().min(1).optional().describe('Only subjects matching this filter; unset = the whole stream.'),
  channel: template,
  deliverPolicy: z.enum(['all', 'new']).default('all').describe('Where a new durable starts.'),
  ackWaitMs: duration(100)
    .default(30_000)
    .describe('An unacked message (its node died) is redelivered to another node after this.'),
  maxMessages: z.int().min(1).max(10_000).default(100).describe('Messages pulled ahead per node.'),
  onUnmapped,
  deadLetterSubject: z
    .string()
    .min(1)
    .default('{subject}.dead')
    .describe('Subject unmapped messages are published to ({subject} is replaced); a stream must capture it.'),
});

const rabbitMqSource = z.strictObject({
  type: z.literal('rabbitmq').describe('"rabbitmq": a queue with manual acks.'),
  url: z
    .string()
    .regex(/^amqps?:\/\//, 'must start with amqp:// or amqps://')
    .default('amqp://127.0.0.1:5672')
    .meta({ secret: true })
    .describe(
      'Redis URL (redis-streams; default redis://127.0.0.1:6379) or AMQP URL (rabbitmq; default amqp://127.0.0.1:5672); may carry a password.',
    ),
  queue: z.string().min(1).describe('Queue to consume (rabbitmq; the application declares it and its bindings).'),
  channel: template,
  prefetch: z.int().min(1).max(65_535).default(100).describe('Unacked messages the broker sends ahead (basic.qos).'),
  onUnmapped,
});

/** Consumers of external brokers that publish into Tidings. */
export const ingestSchema = z
  .strictObject({
    sources: z
      .array(z.discriminatedUnion('type', [redisStreamsSource, jetStreamSource, rabbitMqSource]))
      .default([])
      .describe('Broker consumers (docs/ingest.md); each maps messages to channels by its channel template.'),
    retryDelayMs: duration()
      .default(500)
      .describe('Wait between retries of a failed delivery, a failed start or a lost connection.'),
  })
  .prefault({})
  .describe('Ingest from message brokers (packages/ingest, docs/ingest.md).');
