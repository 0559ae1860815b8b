import type { TidingsNode } from '../../core/node.js';
import type { Clock } from '../../internal/clock.js';
import { createOneWayHandler, type OneWayHandler } from '../one-way/index.js';
import { createSseFramer } from './sse-framer.js';

/** Options of the SSE endpoint. */
export interface SseHandlerOptions {
  /** Default `/connection/sse`. */
  readonly path?: string;
  /** Interval of heartbeat comments on an idle stream. Default 15 s. */
  readonly heartbeatIntervalMs?: number;
  /** Reconnection delay advised to the browser (`retry:`). Default 3 s. */
  readonly retryMs?: number;
  /** Cookie that may carry the connection token. Default `tidings_token`. */
  readonly tokenCookie?: string;
  /** Time the final event has to reach the client before the socket is destroyed. Default 5 s. */
  readonly closeGraceMs?: number;
  /** Browser origins allowed besides the server's own; others get 403. Default none. */
  readonly allowedOrigins?: readonly string[];
  /** Compress for clients that ask (`Accept-Encoding`: br, else gzip), flushed per event. Default false. */
  readonly compression?: boolean;
  readonly clock?: Clock;
}

/**
 * `GET /connection/sse?channel=a&channel=b`: a `text/event-stream` of the channels' publications
 * for `EventSource` and `curl -N`. See docs/transports.md for the events, resume with
 * `Last-Event-ID` or `?cursor=`, and the errors answered before the stream starts.
 */
export function createSseHandler(node: TidingsNode, options: SseHandlerOptions = {}): OneWayHandler {
  return createOneWayHandler(node, {
    path: options.path ?? '/connection/sse',
    framer: createSseFramer({ retryMs: options.retryMs ?? 3_000 }),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.tokenCookie !== undefined ? { tokenCookie: options.tokenCookie } : {}),
    ...(options.closeGraceMs !== undefined ? { closeGraceMs: options.closeGraceMs } : {}),
    ...(options.allowedOrigins !== undefined ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.compression !== undefined ? { compression: options.compression } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
}
