import type { TidingsNode } from '../../core/node.js';
import type { Clock } from '../../internal/clock.js';
import { createOneWayHandler, type OneWayHandler } from '../one-way/index.js';
import { createNdjsonFramer } from './ndjson-framer.js';

/** Options of the NDJSON streaming endpoint. */
export interface HttpStreamHandlerOptions {
  /** Default `/connection/stream`. */
  readonly path?: string;
  /** Interval of heartbeat lines on an idle stream. Default 15 s. */
  readonly heartbeatIntervalMs?: number;
  /** Cookie that may carry the connection token. Default `tidings_token`. */
  readonly tokenCookie?: string;
  /** Time the final line has to reach the client before the socket is destroyed. Default 5 s. */
  readonly closeGraceMs?: number;
  /** Browser origins allowed besides the server's own; others get 403. Default none. */
  readonly allowedOrigins?: readonly string[];
  /** Compress for clients that ask (`Accept-Encoding`: br, else gzip), flushed per event. Default false. */
  readonly compression?: boolean;
  readonly clock?: Clock;
}

/**
 * `GET /connection/stream?channel=a`: an `application/x-ndjson` stream of the channels' events,
 * one JSON object a line, for curl, backends and fetch streams. Same auth and resume as SSE
 * (the cursor is each line's `"cursor"` member; resume with `?cursor=` or `Last-Event-ID`).
 */
export function createHttpStreamHandler(node: TidingsNode, options: HttpStreamHandlerOptions = {}): OneWayHandler {
  return createOneWayHandler(node, {
    path: options.path ?? '/connection/stream',
    framer: createNdjsonFramer(),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.tokenCookie !== undefined ? { tokenCookie: options.tokenCookie } : {}),
    ...(options.closeGraceMs !== undefined ? { closeGraceMs: options.closeGraceMs } : {}),
    ...(options.allowedOrigins !== undefined ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.compression !== undefined ? { compression: options.compression } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
}
