import { z } from 'zod';

/**
 * Request bodies of the server API, shaped like Centrifugo v5's HTTP API. Unknown fields are
 * ignored (as Centrifugo does); fields Centrifugo has but Tidings does not implement are
 * rejected when they would change the outcome, never silently dropped.
 */

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected standard base64');
const channel = z.string();
const user = z.string().min(1, 'expected a non-empty user id');
const notSupported = (what: string) => z.never({ error: `${what} is not supported by Tidings` }).optional();
const tags = z.record(z.string(), z.string());
const idempotencyKey = z.string().min(1).max(256);

/** The `Idempotency-Key` header of publish and broadcast: one value of 1 to 256 characters. */
export const idempotencyHeaderSchema = idempotencyKey.optional();

/** `data` is any JSON value; `b64data` carries binary. Exactly one of them. */
const payloadFields = {
  data: z.unknown().optional(),
  b64data: base64.optional(),
  tags: tags.optional(),
  idempotency_key: idempotencyKey.optional(),
  skip_history: z.boolean().optional(),
  delta: z
    .boolean()
    .refine((v) => !v, 'delta: true is not supported by Tidings')
    .optional(),
};

function exactlyOnePayload(body: { data?: unknown; b64data?: string | undefined }, ctx: z.RefinementCtx): void {
  const hasData = body.data !== undefined;
  const hasB64 = body.b64data !== undefined;
  if (hasData === hasB64) {
    ctx.addIssue({ code: 'custom', path: ['data'], message: 'set exactly one of data and b64data' });
  }
}

export const publishSchema = z.object({ channel, ...payloadFields }).superRefine(exactlyOnePayload);

export const broadcastSchema = z
  .object({ channels: z.array(channel).min(1, 'expected at least one channel').max(1000), ...payloadFields })
  .superRefine(exactlyOnePayload);

const streamPosition = z.object({ offset: z.number().int().min(0), epoch: z.string() });

export const historySchema = z.object({
  channel,
  limit: z.number().int().min(-1).optional(),
  since: streamPosition.optional(),
  reverse: z.boolean().optional(),
});

export const channelOnlySchema = z.object({ channel });

export const channelsSchema = z.object({ pattern: z.string().optional() });

export const infoSchema = z.object({});

export const disconnectSchema = z.object({
  user,
  client: z.string().min(1).optional(),
  session: z.string().min(1).optional(),
  whitelist: z.array(z.string()).optional(),
  disconnect: z
    .object({
      code: z.number().int().min(3000).max(4999),
      // RFC 6455 §5.5: a close frame's reason fits in 123 bytes.
      reason: z.string().refine((r) => Buffer.byteLength(r) <= 123, 'reason must fit in 123 bytes'),
    })
    .optional(),
});

export const unsubscribeSchema = z.object({
  user,
  channel,
  client: z.string().min(1).optional(),
  session: notSupported('session'),
});

export const subscribeSchema = z.object({
  user,
  channel,
  client: z.string().min(1).optional(),
  session: notSupported('session'),
  info: notSupported('info'),
  b64info: notSupported('b64info'),
  data: notSupported('data'),
  b64data: notSupported('b64data'),
  recover_since: notSupported('recover_since'),
  override: notSupported('override'),
});

/** Method name → request schema; `batch` is handled apart (its commands use these). */
export const methodSchemas = {
  publish: publishSchema,
  broadcast: broadcastSchema,
  history: historySchema,
  history_remove: channelOnlySchema,
  presence: channelOnlySchema,
  presence_stats: channelOnlySchema,
  channels: channelsSchema,
  info: infoSchema,
  disconnect: disconnectSchema,
  unsubscribe: unsubscribeSchema,
  subscribe: subscribeSchema,
} as const;

export type ApiMethod = keyof typeof methodSchemas;
export type ApiRequest<M extends ApiMethod> = z.output<(typeof methodSchemas)[M]>;

/** Every method name `POST /api/<name>` answers, batch included. */
export const apiMethods: readonly string[] = Object.freeze([...Object.keys(methodSchemas), 'batch']);

export function isApiMethod(name: string): name is ApiMethod {
  return Object.hasOwn(methodSchemas, name);
}

/** Most commands accepted in one batch. */
export const maxBatchCommands = 1000;

export const batchSchema = z.object({
  commands: z.array(z.record(z.string(), z.unknown())).max(maxBatchCommands),
  parallel: z.boolean().optional(),
});

/** The query of `GET <prefix>/history/stream`: exactly one non-empty `channel`. */
export const historyStreamQuerySchema = z.object({
  channel: z
    .array(z.string().min(1))
    .length(1)
    .meta({ description: 'the channel to export (exactly one)', examples: [['chat:lobby']] }),
});

/**
 * One command of a batch as the document describes it: an object with exactly one method name
 * as its key and that method's request. The handler checks the same thing in two steps
 * (`batchSchema`, then the method's schema), so its error messages can name the command.
 */
export const batchCommandSchema = z.union(
  Object.entries(methodSchemas).map(([name, schema]) => z.object({ [name]: schema }).strict()),
);

/** `commands[2].publish.channel: expected string` from zod issues; never echoes input values. */
export function describeIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  let path = '';
  for (const key of [...prefix, ...issue.path]) {
    path += typeof key === 'number' ? `[${key}]` : `${path === '' ? '' : '.'}${String(key)}`;
  }
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}
