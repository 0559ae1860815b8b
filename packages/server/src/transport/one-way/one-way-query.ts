import { z } from 'zod';

/**
 * The query parameters of the one-way streams (SSE, NDJSON) and of polling, as
 * `parseOneWayRequest` reads them: every value is a string, `channel` repeats. Cursor and
 * `since` are checked further by `decodeCursor` / `parsePosition` (400 with code 107).
 */
export const oneWayQuerySchema = z.object({
  channel: z.array(z.string()).meta({
    description: 'a channel to read; repeat for several (`?channel=a&channel=b`)',
    examples: [['chat:lobby']],
  }),
  token: z.string().optional().meta({
    description: 'connection JWT; `Authorization: Bearer` or the token cookie are preferred (URLs are logged)',
  }),
  cursor: z
    .string()
    .optional()
    .meta({ description: 'resume after this multi-channel cursor (the `cursor` of an event or poll reply)' }),
  since: z
    .string()
    .optional()
    .meta({ description: '`<epoch>.<offset>`: resume one channel after this position', examples: ['_-WQlu50.4'] }),
  maxRate: z
    .string()
    .optional()
    .meta({
      description: "updates a second per key on every channel, in (0, 1000], within each namespace's cap",
      examples: ['5'],
    }),
  delta: z
    .string()
    .optional()
    .meta({
      description:
        'delta compression: `merge-patch` sends state documents as RFC 7396 merge patches against the last one of the same key (docs/state.md)',
      examples: ['merge-patch'],
    }),
});

/** The value of `?maxRate=` once read as a number (checked after the resume position, as before). */
export const maxRateValueSchema = z.number().gt(0).max(1000);

/** What `oneWayQuerySchema` yields. */
export type OneWayQuery = z.output<typeof oneWayQuerySchema>;

/** The one-way query of a URL, validated by `oneWayQuerySchema`; empty values count as absent. */
export function readOneWayQuery(query: URLSearchParams): z.ZodSafeParseResult<OneWayQuery> {
  const value = (name: string) => {
    const v = query.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const raw: Record<string, unknown> = { channel: query.getAll('channel') };
  for (const name of ['token', 'cursor', 'since', 'maxRate', 'delta'] as const) {
    const v = value(name);
    if (v !== undefined) raw[name] = v;
  }
  return oneWayQuerySchema.safeParse(raw);
}
