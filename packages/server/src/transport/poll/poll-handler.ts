import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Disconnect, ErrorCode, isTidingsError } from '@tidings/protocol';
import type { TidingsNode } from '../../core/node.js';
import { type Clock, systemClock } from '../../internal/clock.js';
import { disconnectFailure, sendError, statusOfWire } from '../one-way/http-errors.js';
import { OneWayClosedError, OneWayRequestError, parseOneWayRequest } from '../one-way/index.js';
import { corsHeaders } from '../origin.js';
import { ChangeRateTracker } from './change-rate.js';
import { pollParamsSchema } from './poll-query.js';
import { PollReader } from './poll-reader.js';
import { writePollReply } from './poll-reply.js';
import { PollTransport } from './poll-transport.js';

/** Options of the poll endpoint. */
export interface PollHandlerOptions {
  /** Default `/connection/poll`. */
  readonly path?: string;
  /** Longest time a poll waits for a publication before answering with none. Default 25 s. */
  readonly timeoutMs?: number;
  /** Shortest advised interval between polls (busy channel). Default 1 s. */
  readonly minIntervalMs?: number;
  /** Longest advised interval between polls (quiet channel). Default 30 s. */
  readonly maxIntervalMs?: number;
  /** Most publications in one reply; the cursor continues after them. Default 100. */
  readonly maxPublications?: number;
  /** Cookie that may carry the connection token. Default `tidings_token`. */
  readonly tokenCookie?: string;
  /** Browser origins allowed besides the server's own; others get 403. Default none. */
  readonly allowedOrigins?: readonly string[];
  readonly clock?: Clock;
}

/** The poll endpoint; `rates` is exposed for metrics and tests. */
export interface PollHandler {
  (req: IncomingMessage, res: ServerResponse): boolean;
  readonly rates: ChangeRateTracker;
}

const badRequest = (message: string) => new OneWayRequestError(400, ErrorCode.BadRequest, message);

function intParam(raw: string | undefined, min: number, max: number, fallback: number): number {
  return raw === undefined ? fallback : Math.min(max, Math.max(min, Number(raw)));
}

function pollParams(query: URLSearchParams): { wait?: string | undefined; limit?: string | undefined } {
  const raw: Record<string, string> = {};
  for (const name of ['wait', 'limit'] as const) {
    const v = query.get(name);
    if (v !== null && v !== '') raw[name] = v;
  }
  const parsed = pollParamsSchema.safeParse(raw);
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'bad query');
  return parsed.data;
}

/**
 * `GET /connection/poll?channel=a&cursor=…`: long-poll and adaptive polling for clients that
 * cannot hold a stream. Auth, channels and cursor are those of the SSE/NDJSON streams (token
 * from header, query or cookie; cursor from `?cursor=`, `Last-Event-ID` or `?since=`), checked
 * by a real session's connect and subscribe.
 *
 * Contract: answers at once with up to `limit` publications after the cursor, in offset order,
 * read from history (so a channel needs history: 400 with wire code 108 otherwise); when there
 * are none, waits up to `?wait=` ms (at most `timeoutMs`, default `timeoutMs`) for one, then
 * answers with none. A cursor the server cannot continue (expired, or another epoch) yields an
 * explicit `discontinuities` entry and the channel's current position, never a silent skip.
 * `ETag` is the reply's cursor; `If-None-Match` with it and nothing new answers 304. The advised
 * interval (`nextPollMs`, `X-Tidings-Poll-After-Ms`) follows the channels' change rate within
 * `[minIntervalMs, maxIntervalMs]`, and is 0 when the reply was cut at `limit`.
 */
export function createPollHandler(node: TidingsNode, options: PollHandlerOptions = {}): PollHandler {
  const clock = options.clock ?? systemClock;
  const path = options.path ?? '/connection/poll';
  const timeoutMs = options.timeoutMs ?? 25_000;
  const maxPublications = options.maxPublications ?? 100;
  const allowedOrigins = options.allowedOrigins ?? [];
  const rates = new ChangeRateTracker({
    minIntervalMs: options.minIntervalMs ?? 1_000,
    maxIntervalMs: options.maxIntervalMs ?? 30_000,
  });

  const serve = async (req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): Promise<void> => {
    if (req.method !== 'GET') {
      return sendError(res, 405, ErrorCode.BadRequest, 'method not allowed', { ...cors, allow: 'GET, OPTIONS' });
    }
    if (!node.ready()) {
      return sendError(res, 503, ErrorCode.Internal, 'not ready, retry later', { ...cors, 'retry-after': '1' });
    }
    const request = parseOneWayRequest(req, options.tokenCookie);
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const params = pollParams(query);
    const wait = intParam(params.wait, 0, timeoutMs, timeoutMs);
    const limit = intParam(params.limit, 1, maxPublications, maxPublications);

    const transport = new PollTransport();
    const session = node.openSession(transport, {
      headers: req.headers,
      ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
    });
    transport.attach(session);
    let gone = false;
    let wake: (() => void) | undefined;
    let closedBy: Disconnect | undefined;
    const onGone = () => {
      gone = true;
      wake?.();
    };
    res.once('close', onGone);
    try {
      const connected = await transport.request(
        request.token !== undefined ? { connect: { token: request.token } } : { connect: {} },
      );
      if (connected.error !== undefined) {
        return sendError(res, statusOfWire(connected.error.code), connected.error.code, connected.error.message, cors);
      }
      const channels = [
        ...new Set([
          ...request.channels,
          ...Object.keys(request.resume),
          ...Object.keys(connected.connect?.subs ?? {}),
        ]),
      ];
      if (channels.length === 0) throw badRequest('no channel: pass ?channel=');
      const serverSide = new Set(Object.keys(connected.connect?.subs ?? {}));
      const replies = await Promise.all(
        channels.filter((ch) => !serverSide.has(ch)).map((channel) => transport.request({ subscribe: { channel } })),
      );
      const failed = replies.find((r) => r.error !== undefined)?.error;
      if (failed !== undefined) return sendError(res, statusOfWire(failed.code), failed.code, failed.message, cors);

      const reader = new PollReader(node, rates, clock, channels, request.resume, limit);
      let woken = false;
      transport.onPublication = (p) => {
        if (channels.includes(p.channel)) {
          woken = true;
          wake?.();
        }
      };
      transport.onClose = (disconnect) => {
        closedBy = disconnect;
        wake?.();
      };
      await reader.start();
      await reader.collect();
      const deadline = clock.now() + wait;
      while (!reader.moved && !gone && closedBy === undefined && clock.now() < deadline) {
        if (!woken) {
          await new Promise<void>((resolve) => {
            const timer = clock.setTimeout(() => resolve(), deadline - clock.now());
            wake = () => {
              clock.clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        if (!woken) break;
        woken = false;
        await reader.collect();
      }
      if (gone) return;
      if (closedBy !== undefined && !reader.moved) throw new OneWayClosedError(closedBy);
      const ifNoneMatch = req.headers['if-none-match'];
      writePollReply(res, reader.outcome(request.token === undefined), ifNoneMatch, cors);
    } catch (error) {
      if (error instanceof OneWayClosedError) {
        if (error.disconnect === undefined) return;
        const { status, body } = disconnectFailure(error.disconnect);
        return sendError(res, status, body.code, body.message, status === 503 ? { ...cors, 'retry-after': '1' } : cors);
      }
      if (isTidingsError(error) && error.wireCode === ErrorCode.NotAvailable) {
        throw new OneWayRequestError(400, ErrorCode.NotAvailable, 'polling needs a channel with history');
      }
      throw error;
    } finally {
      res.off('close', onGone);
      transport.release();
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== path) return false;
    const cors = corsHeaders(req, allowedOrigins, req.method === 'OPTIONS');
    if (cors === undefined) {
      sendError(res, 403, ErrorCode.PermissionDenied, 'origin not allowed');
      return true;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, allow: 'GET, OPTIONS' });
      res.end();
      return true;
    }
    serve(req, res, cors).catch((error: unknown) => {
      if (error instanceof OneWayRequestError) sendError(res, error.status, error.code, error.message, cors);
      else if (!res.headersSent) sendError(res, 500, ErrorCode.Internal, 'internal server error', cors);
      else res.destroy();
    });
    return true;
  };
  return Object.assign(handler, { rates });
}
