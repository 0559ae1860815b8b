import type { IncomingMessage } from 'node:http';
import { decodeCursor, isTidingsError, parsePosition, type StreamPosition } from '@tidings/protocol';
import { maxRateValueSchema, readOneWayQuery } from './one-way-query.js';

/** Default name of the cookie that may carry a connection token. */
export const defaultTokenCookie = 'tidings_token';

/** What a one-way stream request asks for. */
export interface OneWayRequest {
  /** Channels from `?channel=` (deduplicated, in order). Token channels are added by the session. */
  readonly channels: readonly string[];
  /** Connection token from `Authorization: Bearer`, `?token=` or the token cookie, in that order. */
  readonly token: string | undefined;
  /** Positions to resume from: `Last-Event-ID`, else `?cursor=`, else `?since=` (one channel). */
  readonly resume: Readonly<Record<string, StreamPosition>>;
  /** `?maxRate=`: updates a second per key on every channel (within each namespace's cap). */
  readonly maxRate?: number;
  /** `?delta=merge-patch`: state documents as RFC 7396 merge patches against the last one sent per key. */
  readonly delta?: 'merge-patch';
}

/** A request refused before any stream starts: answered with `status` and `{ error: { code, message } }`. */
export class OneWayRequestError extends Error {
  readonly status: number;
  /** Wire error code (107 bad request, 101 unauthorized...). */
  readonly code: number;

  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = 'OneWayRequestError';
    this.status = status;
    this.code = code;
  }
}

const badRequest = 107;

/**
 * Reads channels, token and resume position of a one-way stream request.
 * @throws OneWayRequestError (400, 107) for a malformed cursor or `since`, or `since` with other
 *   than exactly one channel.
 */
export function parseOneWayRequest(req: IncomingMessage, tokenCookie = defaultTokenCookie): OneWayRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parsed = readOneWayQuery(url.searchParams);
  // Every member is a string read from URLSearchParams, so this holds; kept as a guard against a stricter schema.
  if (!parsed.success) throw new OneWayRequestError(400, badRequest, parsed.error.issues[0]?.message ?? 'bad query');
  const query = parsed.data;
  const channels = [...new Set(query.channel)];
  const token = bearerToken(req) ?? query.token ?? cookieValue(req, tokenCookie);

  let resume: Record<string, StreamPosition> = {};
  const header = req.headers['last-event-id'];
  const cursor = nonEmpty(typeof header === 'string' ? header.trim() : undefined) ?? query.cursor;
  const since = query.since;
  try {
    if (cursor !== undefined) resume = decodeCursor(cursor);
    else if (since !== undefined) {
      const channel = channels[0];
      if (channels.length !== 1 || channel === undefined) {
        throw new OneWayRequestError(400, badRequest, 'since=<epoch>.<offset> needs exactly one channel; use cursor');
      }
      resume = { [channel]: parsePosition(since) };
    }
  } catch (error) {
    if (error instanceof OneWayRequestError) throw error;
    if (isTidingsError(error)) throw new OneWayRequestError(400, badRequest, error.message);
    throw error;
  }
  let maxRate: number | undefined;
  if (query.maxRate !== undefined) {
    const parsedRate = maxRateValueSchema.safeParse(Number(query.maxRate));
    if (!parsedRate.success) {
      throw new OneWayRequestError(400, badRequest, 'maxRate must be a number of updates a second in (0, 1000]');
    }
    maxRate = parsedRate.data;
  }
  if (query.delta !== undefined && query.delta !== 'merge-patch') {
    throw new OneWayRequestError(400, badRequest, 'delta must be merge-patch');
  }
  const delta = query.delta === 'merge-patch' ? ('merge-patch' as const) : undefined;
  return {
    channels,
    token,
    resume,
    ...(maxRate !== undefined ? { maxRate } : {}),
    ...(delta !== undefined ? { delta } : {}),
  };
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return nonEmpty(decodeURIComponent(raw));
    } catch {
      return nonEmpty(raw);
    }
  }
  return undefined;
}
