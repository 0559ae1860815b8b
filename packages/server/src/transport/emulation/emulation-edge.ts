import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Codec, ErrorCode, jsonCodec, protobufCodec } from '@tidings/protocol';
import type { TidingsNode } from '../../core/node.js';
import type { Session } from '../../core/session.js';
import { type Clock, systemClock } from '../../internal/clock.js';
import { corsHeaders } from '../origin.js';
import { EmulationRequestError, parseEmulationRequest } from './emulation-request.js';
import { type EmulationKind, EmulationTransport } from './emulation-transport.js';

/** Options of the bidirectional emulation edge. */
export interface EmulationEdgeOptions {
  /** `POST` opens an HTTP stream session; the body is the connect command. Default `/connection/http_stream`. */
  readonly httpStreamPath?: string;
  /**
   * `GET ?cf_connect=<connect command>` opens an SSE session. Default `/connection/sse`: requests
   * without `cf_connect` are not claimed, so the one-way SSE endpoint can share the path.
   */
  readonly ssePath?: string;
  /** `POST` of `EmulationRequest` bodies (commands of an open session). Default `/emulation`. */
  readonly emulationPath?: string;
  /** Largest accepted POST body (connect of an HTTP stream, emulation request). Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Browser origins allowed besides the server's own (see `isOriginAllowed`); others get 403. Default none. */
  readonly allowedOrigins?: readonly string[];
  /** Time the final disconnect push has to reach the client before the socket is destroyed. Default 5 s. */
  readonly closeGraceMs?: number;
  readonly clock?: Clock;
}

/** Serves a request when its path (and for SSE the `cf_connect` query) matches: returns true; else false. */
export type EmulationHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Query parameter holding the connect command of an SSE emulation session (as the SDKs send it). */
export const sseConnectParam = 'cf_connect';

const protobufType = 'application/octet-stream';
const preflightHeaders: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type',
  'access-control-max-age': '600',
});

/**
 * Bidirectional emulation as the `centrifuge` SDKs expect it, for clients whose WebSockets are
 * blocked: a long-lived response carries the session's replies (`http_stream` or `sse`), and
 * every further command batch is POSTed to the emulation path as `{ node, session, data }`. The
 * session is a real bidirectional `Session`; its connect result holds `session` (a secret id,
 * not the public client id) and `node`.
 *
 * Emulation POSTs are answered 204 when handed to the session; 404 with a JSON error when the
 * node id is another node's (cross-node routing is not supported: the SDK closes the transport
 * and reconnects, which reaches a node that holds its new session) or when no open session has
 * that id; 400 for a malformed body, 413 past `maxBodyBytes`, 405 for another method, 503 while
 * the node is not ready. Errors are `{ "error": { "code", "message" } }`. A browser origin outside
 * `allowedOrigins` (and not the server's own) gets 403 on every path; an allowed cross-origin
 * page gets CORS headers, and its `OPTIONS` preflight of the POST paths is answered 204.
 */
export function createEmulationEdge(node: TidingsNode, options: EmulationEdgeOptions = {}): EmulationHandler {
  const streamPath = options.httpStreamPath ?? '/connection/http_stream';
  const ssePath = options.ssePath ?? '/connection/sse';
  const emulationPath = options.emulationPath ?? '/emulation';
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  const clock = options.clock ?? systemClock;
  const closeGraceMs = options.closeGraceMs ?? 5_000;
  const allowedOrigins = options.allowedOrigins ?? [];
  const sessions = new Map<string, Session>();

  const open = (
    req: IncomingMessage,
    res: ServerResponse,
    cors: Record<string, string>,
    kind: EmulationKind,
    codec: Codec,
    connect: Uint8Array,
  ) => {
    if (!node.ready()) {
      return sendError(res, 503, ErrorCode.Internal, 'not ready, retry later', { ...cors, 'retry-after': '1' });
    }
    const id = randomUUID();
    const transport = new EmulationTransport(res, {
      kind,
      codec,
      session: id,
      closeGraceMs,
      clock,
      onEnd: () => sessions.delete(id),
    });
    transport.open(cors);
    const session = node.openSession(transport, {
      headers: req.headers,
      ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
    });
    transport.attach(session);
    if (transport.closed) return;
    sessions.set(id, session);
    session.handleFrame(connect);
  };

  const command = (res: ServerResponse, cors: Record<string, string>, body: Uint8Array, protobuf: boolean) => {
    const request = parseEmulationRequest(body, protobuf);
    if (request.node !== node.id) {
      return sendError(
        res,
        404,
        ErrorCode.BadRequest,
        'session is held by another node: cross-node emulation is not supported, reconnect',
        cors,
      );
    }
    const session = sessions.get(request.session);
    if (session === undefined) return sendError(res, 404, ErrorCode.BadRequest, 'no such session, reconnect', cors);
    session.handleFrame(request.data);
    res.writeHead(204, { ...cors, 'cache-control': 'no-store' });
    res.end();
  };

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    cors: Record<string, string>,
    path: string,
    query: string,
  ): Promise<void> => {
    if (path === ssePath) {
      if (req.method !== 'GET') {
        return sendError(res, 405, ErrorCode.BadRequest, 'method not allowed', { ...cors, allow: 'GET' });
      }
      const connect = new URLSearchParams(query).get(sseConnectParam) ?? '';
      return open(req, res, cors, 'sse', jsonCodec, new TextEncoder().encode(connect));
    }
    if (req.method !== 'POST') {
      return sendError(res, 405, ErrorCode.BadRequest, 'method not allowed', { ...cors, allow: 'POST, OPTIONS' });
    }
    const protobuf = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === protobufType;
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) {
      return sendError(res, 413, ErrorCode.BadRequest, `body larger than ${maxBodyBytes} bytes`, {
        ...cors,
        connection: 'close',
      });
    }
    if (path === streamPath) return open(req, res, cors, 'http_stream', protobuf ? protobufCodec : jsonCodec, body);
    if (!node.ready()) {
      return sendError(res, 503, ErrorCode.Internal, 'not ready, retry later', { ...cors, 'retry-after': '1' });
    }
    command(res, cors, body, protobuf);
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (path === ssePath) {
      if (!new URLSearchParams(query).has(sseConnectParam)) return false;
    } else if (path !== streamPath && path !== emulationPath) return false;
    const cors = corsHeaders(req, allowedOrigins);
    if (cors === undefined) {
      sendError(res, 403, ErrorCode.PermissionDenied, 'origin not allowed');
      return true;
    }
    if (req.method === 'OPTIONS' && path !== ssePath) {
      // The SDK POSTs with Content-Type application/json or application/octet-stream: not a
      // CORS-safelisted request, so a cross-origin page preflights it.
      const preflight = 'access-control-allow-origin' in cors ? preflightHeaders : {};
      res.writeHead(204, { ...cors, ...preflight, allow: 'POST, OPTIONS' });
      res.end();
      return true;
    }
    serve(req, res, cors, path, query).catch((error: unknown) => {
      if (error instanceof EmulationRequestError) sendError(res, 400, ErrorCode.BadRequest, error.message, cors);
      else if (!res.headersSent) sendError(res, 500, ErrorCode.Internal, 'internal server error');
      else res.destroy();
    });
    return true;
  };
}

/** The request body, or undefined once it exceeds `limit` (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
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
