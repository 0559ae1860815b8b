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
import { corsHeaders } from '../origin.js';
import type { EventFramer } from './event-framer.js';
import { disconnectFailure, sendError, statusOfWire } from './http-errors.js';
import { OneWayRequestError, parseOneWayRequest } from './one-way-request.js';
import { OneWayClosedError, OneWayTransport } from './one-way-transport.js';
import { negotiateEncoding } from './stream-output.js';

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
  /** Browser origins allowed besides the server's own (see `isOriginAllowed`); others get 403. Default none. */
  readonly allowedOrigins?: readonly string[];
  /**
   * Compress streams (br, else gzip) for clients whose `Accept-Encoding` asks for it, flushed per
   * event; responses then carry `Vary: Accept-Encoding`. Default false: never compress.
   */
  readonly compression?: boolean;
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

  const allowedOrigins = options.allowedOrigins ?? [];

  const serve = async (req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): Promise<void> => {
    if (req.method !== 'GET') {
      return sendError(res, 405, ErrorCode.BadRequest, 'method not allowed', { ...cors, allow: 'GET, OPTIONS' });
    }
    if (!node.ready()) {
      return sendError(res, 503, ErrorCode.Internal, 'not ready, retry later', { ...cors, 'retry-after': '1' });
    }
    const request = parseOneWayRequest(req, options.tokenCookie);
    const encoding = options.compression === true ? negotiateEncoding(req.headers['accept-encoding']) : undefined;
    const transport = new OneWayTransport(res, {
      ...transportOptions,
      resume: request.resume,
      ...(encoding !== undefined ? { encoding } : {}),
    });
    const session = node.openSession(transport, {
      headers: req.headers,
      ...(request.maxRate !== undefined ? { maxRate: request.maxRate } : {}),
      ...(request.delta !== undefined ? { delta: request.delta } : {}),
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
      if (connected.error !== undefined) return refuse(transport, session, res, connected.error, cors);
      const serverSide = new Set(Object.keys(connected.connect?.subs ?? {}));
      const wanted = request.channels.filter((ch) => !serverSide.has(ch));
      if (wanted.length === 0 && serverSide.size === 0) {
        const noChannel = { code: ErrorCode.BadRequest, message: 'no channel: pass ?channel=' };
        return refuse(transport, session, res, noChannel, cors);
      }
      const replies = await Promise.all(
        wanted.map((channel) => transport.request({ subscribe: { channel, ...recover(channel) } }, channel)),
      );
      const failed = replies.find((r) => r.error !== undefined)?.error;
      if (failed !== undefined) return refuse(transport, session, res, failed, cors);
      const vary = [cors.vary, options.compression === true ? 'Accept-Encoding' : undefined].filter((v) => v);
      transport.open({ ...streamHeaders, ...cors, ...(vary.length > 0 ? { vary: vary.join(', ') } : {}) });
    } catch (error) {
      if (!(error instanceof OneWayClosedError)) throw error;
      // The peer left during the handshake: nothing to answer.
      if (error.disconnect === undefined) return;
      const { status, body } = disconnectFailure(error.disconnect);
      sendError(res, status, body.code, body.message, status === 503 ? { ...cors, 'retry-after': '1' } : cors);
    }
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== options.path) return false;
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
  headers: Record<string, string>,
): void {
  transport.abort();
  session.close(disconnectOf(DisconnectCode.BadRequest));
  sendError(res, statusOfWire(error.code), error.code, error.message, headers);
}
