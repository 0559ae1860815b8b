import { z } from 'zod';
import { oneWayQuerySchema } from '../one-way/one-way-query.js';

const wholeNumber = (name: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a whole number`)
    .optional();

/** `?wait=` and `?limit=` of a poll, as digit strings; the handler clamps them to its limits. */
export const pollParamsSchema = z.object({
  wait: wholeNumber('wait').meta({
    description: 'ms to wait for a publication when there is none (clamped to poll.timeoutMs, its default)',
    examples: ['20000'],
  }),
  limit: wholeNumber('limit').meta({
    description: 'most publications in the reply (clamped to 1..poll.maxPublications, its default)',
    examples: ['50'],
  }),
});

/** Every query parameter of `GET /connection/poll`: those of the one-way streams plus `wait` and `limit`. */
export const pollQuerySchema = oneWayQuerySchema.extend(pollParamsSchema.shape);

/** A discontinuity of a poll reply (as the `discontinuity` event of SSE / NDJSON). */
const pollDiscontinuitySchema = z.object({
  channel: z.string(),
  epoch: z.string(),
  offset: z.number().int().min(0),
  reason: z.enum(['history_expired', 'epoch_changed']),
});

/** The 200 body of a poll (see `writePollReply`). */
export const pollReplySchema = z.object({
  publications: z.array(
    z.object({
      channel: z.string(),
      offset: z.number().int().min(0),
      epoch: z.string(),
      data: z.unknown().meta({ description: 'the published JSON; a payload that is not JSON arrives as a string' }),
      tags: z.record(z.string(), z.string()).optional(),
    }),
  ),
  cursor: z.string().meta({ description: 'poll again with ?cursor= set to this; also the ETag' }),
  discontinuities: z.array(pollDiscontinuitySchema).optional(),
  nextPollMs: z.number().int().min(0).meta({ description: 'advised wait before the next poll' }),
});
