import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Disconnect,
  DisconnectCode,
  disconnectOf,
  ErrorCode,
  type ReplyErrorBody,
  type SubscribeRequest,
} from '@tidings/protocol';
import type { TidingsNode } from '../../core/node.js';
import { type Clock, systemClock } from '../../internal/clock.js';
import type { EventFramer } from './event-framer.js';
import { OneWayRequestError, parseOneWayRequest } from './one-way-request.js';
import { OneWayClosedError, OneWayTransport } from './one-way-transport.js';

/** Options of a one-way stream endpoint. */
export interface OneWayHandlerOptions {
  /** URL path served, e.g. `/connection/sse`. */
  readonly path: string;
  readonly framer: EventFramer;
  /** Interval of keep-alive output on an idle stream. Default 15 s. */
  readonly heartbeatIntervalMs?: number;
  /** Time the final event has to reach the client before the socket is destroyed. Default 5 s. */
  readonly closeGraceMs?: number;
  /** Cookie that may carry the connection token. Default `tidings_token`. */
  readonly tokenCookie?: string;
  readonly clock?: Clock;
}

/** Serves a request when its path matches (returns true), else returns false and does nothing. */
export type OneWayHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const streamHeaders: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
});

/**
 * A one-way stream endpoint driving a real `Session`: connect (token from header, query or
 * cookie; server-side channels of the token are resumed from the cursor too), then one
 * subscribe per requested channel, recovering from the cursor position when there is one.
 * Subscriptions join the hub before history is read (the session's race-free recovery), so no
 * publication falls between resume and live delivery.
 *
 * Anything refused before the stream starts is answered with a JSON error
 * `{ "error": { "code", "message" } }`: 400 (malformed cursor, bad channel name, no channel,
 * limits), 401 (token missing, invalid or expired), 403 (permission denied), 404 (unknown
 * namespace), 405 (not GET), 503 (node not ready or shutting down).
 */
export function createOneWayHandler(node: TidingsNode, options: OneWayHandlerOptions): OneWayHandler {
  const clock = options.clock ?? systemClock;
  const transportOptions = {
    framer: options.framer,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 15_000,
    closeGraceMs: options.closeGraceMs ?? 5_000,
    clock,
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET') return sendError(res, 405, ErrorCode.BadRequest, 'method not allowed', { allow: 'GET' });
    if (!node.ready()) return sendError(res, 503, ErrorCode.Internal, 'not ready, retry later', { 'retry-after': '1' });
    const request = parseOneWayRequest(req, options.tokenCookie);
    const transport = new OneWayTransport(res, { ...transportOptions, resume: request.resume });
    const session = node.openSession(transport, {
      headers: req.headers,
      ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
    });
    transport.attach(session);
    const recover = (channel: string): SubscribeRequest => {
      const position = request.resume[channel];
      return position === undefined
        ? { recoverable: true }
        : { recoverable: true, recover: true, epoch: position.epoch, offset: position.offset };
    };
    try {
      const subs = Object.fromEntries(Object.keys(request.resume).map((ch) => [ch, recover(ch)]));
      const connected = await transport.request({
        connect: { ...(request.token !== undefined ? { token: request.token } : {}), subs },
      });
      if (connected.error !== undefined) return refuse(transport, session, res, connected.error);
      const serverSide = new Set(Object.keys(connected.connect?.subs ?? {}));
      const wanted = request.channels.filter((ch) => !serverSide.has(ch));
      if (wanted.length === 0 && serverSide.size === 0) {
        return refuse(transport, session, res, { code: ErrorCode.BadRequest, message: 'no channel: pass ?channel=' });
      }
      const replies = await Promise.all(
        wanted.map((channel) => transport.request({ subscribe: { channel, ...recover(channel) } }, channel)),
      );
      const failed = replies.find((r) => r.error !== undefined)?.error;
      if (failed !== undefined) return refuse(transport, session, res, failed);
      transport.open(streamHeaders);
    } catch (error) {
      if (!(error instanceof OneWayClosedError)) throw error;
      // The peer left during the handshake: nothing to answer.
      if (error.disconnect === undefined) return;
      const { status, body } = disconnectFailure(error.disconnect);
      sendError(res, status, body.code, body.message, status === 503 ? { 'retry-after': '1' } : {});
    }
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== options.path) return false;
    serve(req, res).catch((error: unknown) => {
      if (error instanceof OneWayRequestError) sendError(res, error.status, error.code, error.message);
      else if (!res.headersSent) sendError(res, 500, ErrorCode.Internal, 'internal server error');
      else res.destroy();
    });
    return true;
  };
}

function refuse(
  transport: OneWayTransport,
  session: { close(disconnect: Disconnect): void },
  res: ServerResponse,
  error: ReplyErrorBody,
): void {
  transport.abort();
  session.close(disconnectOf(DisconnectCode.BadRequest));
  sendError(res, statusOfWire(error.code), error.code, error.message);
}

/** HTTP status of a wire error code refusing a stream. */
function statusOfWire(code: number): number {
  switch (code) {
    case ErrorCode.Unauthorized:
    case ErrorCode.TokenExpired:
      return 401;
    case ErrorCode.PermissionDenied:
      return 403;
    case ErrorCode.UnknownChannel:
      return 404;
    case ErrorCode.Internal:
      return 503;
    default:
      return 400;
  }
}

function disconnectFailure(disconnect: Disconnect): { status: number; body: ReplyErrorBody } {
  if (disconnect.code === DisconnectCode.InvalidToken) {
    return { status: 401, body: { code: ErrorCode.Unauthorized, message: 'invalid token' } };
  }
  if (disconnect.code === DisconnectCode.Shutdown) {
    return { status: 503, body: { code: ErrorCode.Internal, message: 'shutting down, retry later' } };
  }
  if (disconnect.code >= 3500 && disconnect.code < 3600) {
    return { status: 400, body: { code: ErrorCode.BadRequest, message: disconnect.reason } };
  }
  return { status: 503, body: { code: ErrorCode.Internal, message: disconnect.reason } };
}

function sendError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}
