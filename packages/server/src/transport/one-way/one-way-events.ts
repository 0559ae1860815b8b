import { z } from 'zod';

/**
 * The events of the one-way streams as zod schemas, for `/api/openapi.json` and the tests that
 * check live streams against it. Each is one JSON object with a `type`; on NDJSON an event that
 * moves the stream carries its `cursor` (on SSE the cursor is the `id:` field instead), and an
 * idle NDJSON stream sends `{"type":"heartbeat"}` lines. docs/transports.md explains them.
 */
const cursor = z.string().optional().meta({ description: 'NDJSON only: the stream position after this event' });
const offset = z.number().int().min(0);
const disconnectCode = z.number().int().min(0);

const connected = z.object({ type: z.literal('connected'), client: z.string(), channels: z.array(z.string()), cursor });
const publication = z.object({
  type: z.literal('publication'),
  channel: z.string(),
  offset,
  epoch: z.string().optional().meta({ description: 'absent for a channel without history' }),
  data: z.unknown().meta({ description: 'the published JSON (null when empty; other bytes as a JSON string)' }),
  tags: z.record(z.string(), z.string()).optional(),
  cursor,
});
const discontinuity = z.object({
  type: z.literal('discontinuity'),
  channel: z.string(),
  epoch: z.string(),
  offset,
  reason: z.enum(['history_expired', 'epoch_changed', 'not_recoverable']),
  cursor,
});
const subscribe = z.object({ type: z.literal('subscribe'), channel: z.string(), epoch: z.string(), offset, cursor });
const unsubscribe = z.object({
  type: z.literal('unsubscribe'),
  channel: z.string(),
  code: disconnectCode,
  reason: z.string(),
});
const who = z.object({ user: z.string(), client: z.string() });
const join = z.object({ type: z.literal('join'), channel: z.string(), info: who });
const leave = z.object({ type: z.literal('leave'), channel: z.string(), info: who });
const end = z.object({ type: z.literal('end'), code: disconnectCode, reason: z.string(), reconnect: z.boolean() });
const heartbeat = z.object({ type: z.literal('heartbeat') });

/** Any event of an SSE `data:` line or an NDJSON line. */
export const oneWayEventSchema = z.discriminatedUnion('type', [
  connected,
  publication,
  discontinuity,
  subscribe,
  unsubscribe,
  join,
  leave,
  end,
  heartbeat,
]);
