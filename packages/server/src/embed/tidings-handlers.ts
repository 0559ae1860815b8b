import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ApiHandlerOptions, type ApiRequestHandler, createApiHandler } from '../api/api-handler.js';
import type { TidingsNode } from '../core/node.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import { createEmulationEdge, type EmulationEdgeOptions } from '../transport/emulation/emulation-edge.js';
import {
  createHttpStreamHandler,
  type HttpStreamHandlerOptions,
} from '../transport/http-stream/http-stream-handler.js';
import { createPollHandler, type PollHandlerOptions } from '../transport/poll/poll-handler.js';
import { createSseHandler, type SseHandlerOptions } from '../transport/sse/sse-handler.js';
import { createWebSocketEdge, type WebSocketEdgeOptions } from '../transport/websocket/websocket-edge.js';

/** Options of `createTidingsHandlers`; every edge is on unless set to `false`. */
export interface TidingsHandlersOptions {
  /** Prefix of every Tidings path, e.g. "/realtime". Default "" (paths as `tidings serve` has them). */
  readonly prefix?: string;
  /** Browser origins allowed besides the app's own, for every browser transport. Default none. */
  readonly allowedOrigins?: readonly string[];
  /** `<prefix>/connection/websocket`. */
  readonly websocket?: Omit<WebSocketEdgeOptions, 'path' | 'allowedOrigins'> | false;
  /** `<prefix>/connection/sse` (one-way `EventSource`). */
  readonly sse?: Omit<SseHandlerOptions, 'path' | 'allowedOrigins'> | false;
  /** `<prefix>/connection/stream` (NDJSON). */
  readonly httpStream?: Omit<HttpStreamHandlerOptions, 'path' | 'allowedOrigins'> | false;
  /** `<prefix>/connection/poll`. */
  readonly poll?: Omit<PollHandlerOptions, 'path' | 'allowedOrigins'> | false;
  /** The SDK's HTTP-stream / SSE fallbacks (`<prefix>/connection/http_stream`, `<prefix>/emulation`). */
  readonly emulation?: Pick<EmulationEdgeOptions, 'maxBodyBytes' | 'closeGraceMs'> | false;
  /** The server API at `<prefix>/api/*`; off unless API keys are given. */
  readonly api?: Omit<ApiHandlerOptions, 'prefix' | 'logger'> | false;
  readonly logger?: Logger;
}

/** What an application mounts on its own server. */
export interface TidingsHandlers {
  /**
   * Serves the request when its path is a Tidings path and returns true; returns false (and
   * touches nothing) otherwise. Mount it before body parsers: Tidings reads its own bodies.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Connect/Express-style middleware: Tidings paths are served, the rest goes to `next()`. */
  middleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /** Takes a WebSocket upgrade on the Tidings path and returns true; false for any other upgrade. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Adds `handleUpgrade` as an `upgrade` listener of `server`. An upgrade no listener takes is
   * answered 404 when this is the server's only upgrade listener.
   */
  attach(server: Server): void;
  /** Stops accepting WebSocket upgrades; `node.shutdown()` closes the sessions. */
  close(): Promise<void>;
}

/**
 * Tidings' WebSocket, SSE, NDJSON, poll, SDK-emulation and server-API handlers for an existing
 * node:http, Express, Fastify or Hono server: the app keeps its server and port, and Tidings
 * answers only its own paths. The node must be started (`await node.start()`).
 */
export function createTidingsHandlers(node: TidingsNode, options: TidingsHandlersOptions = {}): TidingsHandlers {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !prefix.startsWith('/')) throw new TypeError('prefix: must start with "/"');
  const allowedOrigins = options.allowedOrigins ?? [];
  const logger = options.logger ?? silentLogger;
  const edge =
    options.websocket === false
      ? undefined
      : createWebSocketEdge(node, { ...options.websocket, path: `${prefix}/connection/websocket`, allowedOrigins });
  const streams: Array<(req: IncomingMessage, res: ServerResponse) => boolean> = [];
  // First: it claims the SDK's `GET <sse>?cf_connect=` before the one-way SSE endpoint sees it.
  if (options.emulation !== false) {
    streams.push(
      createEmulationEdge(node, {
        ...options.emulation,
        httpStreamPath: `${prefix}/connection/http_stream`,
        ssePath: `${prefix}/connection/sse`,
        emulationPath: `${prefix}/emulation`,
        allowedOrigins,
      }),
    );
  }
  if (options.sse !== false) {
    streams.push(createSseHandler(node, { ...options.sse, path: `${prefix}/connection/sse`, allowedOrigins }));
  }
  if (options.httpStream !== false) {
    streams.push(
      createHttpStreamHandler(node, { ...options.httpStream, path: `${prefix}/connection/stream`, allowedOrigins }),
    );
  }
  if (options.poll !== false) {
    streams.push(createPollHandler(node, { ...options.poll, path: `${prefix}/connection/poll`, allowedOrigins }));
  }
  const apiPrefix = `${prefix}/api`;
  const api: ApiRequestHandler | undefined =
    options.api === undefined || options.api === false
      ? undefined
      : createApiHandler(node, { ...options.api, prefix: apiPrefix, logger });

  const handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    for (const stream of streams) if (stream(req, res)) return true;
    if (api === undefined) return false;
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    if (path !== apiPrefix && !path.startsWith(`${apiPrefix}/`)) return false;
    api(req, res).then(
      (handled) => {
        if (!handled) sendJson(res, 404, { error: { code: 404, message: 'unknown API method' } });
      },
      (error: unknown) => {
        logger.error({ err: error, path }, 'api request failed');
        if (!res.headersSent) sendJson(res, 500, { error: { code: 500, message: 'internal server error' } });
        else res.destroy();
      },
    );
    return true;
  };
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean =>
    edge?.handleUpgrade(req, socket, head) ?? false;

  return {
    handleRequest,
    middleware(req, res, next) {
      if (!handleRequest(req, res)) next();
    },
    handleUpgrade,
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (handleUpgrade(req, socket, head)) return;
        if (server.listenerCount('upgrade') === 1) {
          socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        }
      });
    },
    close: async () => edge?.close(),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
