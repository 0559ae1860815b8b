import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2cServer, createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { TidingsConfig } from './config/schema.js';
import { h2cConnectionEvent, shareCleartextPort } from './h2c-sniff.js';

/** The request listener every kind of listener serves (HTTP/2 requests use Node's compat API). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** A listening socket of `tidings serve`: HTTP/1.1, HTTPS + HTTP/2 (ALPN), or cleartext h2c. */
export interface HttpListener {
  readonly server: Server;
  /** "http" or "https", for the URL the server logs. */
  readonly scheme: 'http' | 'https';
  /** Stops accepting; graceful: open requests and h2 streams may finish. Resolves when all closed. */
  close(): Promise<void>;
  /** Drops connections with nothing in flight (idle keep-alive, silent, handshaking); h2 sessions get GOAWAY. */
  closeIdle(): void;
  /** Drops every connection left. */
  closeAll(): void;
  /**
   * Re-reads `http.tls.certFile` and `keyFile` and uses them for new TLS handshakes
   * (`setSecureContext`); open connections keep theirs and are not dropped. A no-op without TLS.
   * @throws TidingsError `TIDINGS_ERR_CONFIG` when a file cannot be read or the pair is invalid;
   * the previous certificate then stays in use.
   */
  reloadTls(): void;
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TidingsError(TidingsErrorCode.Config, `http.tls.${key}: cannot read ${path}`, { cause: error });
  }
}

/**
 * Builds the listener `config.http` asks for: with `tls`, an HTTP/2 secure server that also
 * serves HTTP/1.1 (ALPN; WebSocket upgrades arrive over HTTP/1.1); else HTTP/1.1, and with
 * `h2c` also cleartext HTTP/2 with prior knowledge on the same port (see `shareCleartextPort`).
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` when a certificate or key file cannot be read.
 */
export function createHttpListener(config: TidingsConfig, listener: RequestListener): HttpListener {
  const http = config.http;
  const { headersTimeoutMs, requestTimeoutMs } = http;
  const h2Settings = { maxConcurrentStreams: http.maxStreamsPerConnection, maxHeaderListSize: http.maxHeaderBytes };
  let server: Server;
  if (http.tls !== undefined) {
    const secure = createSecureServer({
      allowHTTP1: true,
      cert: readPem(http.tls.certFile, 'certFile'),
      key: readPem(http.tls.keyFile, 'keyFile'),
      // TLS 1.0 and 1.1 are refused (RFC 8996), whatever Node's default is.
      minVersion: 'TLSv1.2',
      settings: h2Settings,
      maxSessionMemory: 10,
      noDelay: true,
      // A TLS handshake counts against the same budget as request headers (slow-loris).
      handshakeTimeout: headersTimeoutMs,
      maxHeaderSize: http.maxHeaderBytes,
    } as Parameters<typeof createSecureServer>[0]);
    // The compat API passes Http2ServerRequest/Response, which provide what the handlers use
    // (headers, url, method, socket.remoteAddress, writeHead/write/end, writableLength).
    secure.on('request', listener as unknown as (...args: unknown[]) => void);
    // HTTP/1.1 connections on this port go through Node's HTTP/1 server code, which reads these.
    Object.assign(secure, {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: 65_000,
    });
    server = secure;
  } else {
    const plain = createServer(
      {
        // Events are small writes that must leave at once, not wait for Nagle's algorithm.
        noDelay: true,
        maxHeaderSize: http.maxHeaderBytes,
        headersTimeout: headersTimeoutMs,
        // requestTimeout covers receiving the request only, so streams may outlive it.
        requestTimeout: requestTimeoutMs,
        // Node checks both timeouts on this interval (30 s by default, too coarse for short ones).
        connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 2)),
      },
      listener,
    );
    // Keep-alive outlives common load-balancer idle timeouts (60 s).
    plain.keepAliveTimeout = 65_000;
    if (http.h2c) {
      // HTTP/1.1 and h2c (prior knowledge, e.g. cleartext gRPC) on one port, told apart by the preface.
      const h2c = createH2cServer({ settings: h2Settings, maxSessionMemory: 10 });
      h2c.on('request', listener as unknown as (...args: unknown[]) => void);
      shareCleartextPort(plain, h2c, headersTimeoutMs);
    }
    server = plain;
  }
  const tls = http.tls;
  const reloadTls = (): void => {
    if (tls === undefined) return;
    const cert = readPem(tls.certFile, 'certFile');
    const key = readPem(tls.keyFile, 'keyFile');
    try {
      (server as ReturnType<typeof createSecureServer>).setSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    } catch (error) {
      throw new TidingsError(TidingsErrorCode.Config, 'http.tls: the certificate and key do not form a valid pair', {
        cause: error,
      });
    }
  };
  return { ...trackConnections(server, http, tls !== undefined ? 'https' : 'http'), reloadTls };
}

/** Tracks open connections, enforcing `http.maxConnectionsPerIp`, so shutdown can drop the idle ones. */
function trackConnections(
  server: Server,
  http: TidingsConfig['http'],
  scheme: 'http' | 'https',
): Omit<HttpListener, 'reloadTls'> {
  const secure = scheme === 'https';
  const all = new Set<Socket>();
  const busy = new Set<Socket>();
  // Upgraded (WebSocket) and h2 connections close themselves once their streams end.
  const selfClosing = new WeakSet<Socket>();
  // Raw sockets still in the TLS handshake, by "address:port" (the TLS socket is another object).
  const handshaking = new Map<string, Socket>();
  const sessions = new Set<ServerHttp2Session>();
  const perIp = new Map<string, number>();
  const track = (socket: Socket): void => {
    all.add(socket);
    socket.once('close', () => {
      all.delete(socket);
      busy.delete(socket);
    });
  };
  // One listener shared by every connection, `this` being the socket: per-connection closures,
  // once() wrappers and a listener array cost about 0.7 KB for each idle WebSocket. Address and
  // port are still readable after close (net.Socket caches them on the first read, below).
  const onSocketClose = function (this: Socket): void {
    const ip = this.remoteAddress ?? '';
    if (secure) handshaking.delete(`${ip}:${this.remotePort}`);
    all.delete(this);
    busy.delete(this);
    const left = (perIp.get(ip) ?? 1) - 1;
    if (left === 0) perIp.delete(ip);
    else perIp.set(ip, left);
  };
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const count = perIp.get(ip) ?? 0;
    if (http.maxConnectionsPerIp !== undefined && count >= http.maxConnectionsPerIp) {
      socket.destroy();
      return;
    }
    perIp.set(ip, count + 1);
    socket.on('close', onSocketClose);
    if (secure) handshaking.set(`${ip}:${socket.remotePort}`, socket);
    else all.add(socket);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    handshaking.delete(`${socket.remoteAddress ?? ''}:${socket.remotePort}`);
    track(socket);
    if (socket.alpnProtocol === 'h2') selfClosing.add(socket);
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  // Set by the first closeIdle (shutdown): a keep-alive connection whose response ends after it
  // is closed then, instead of idling until the shutdown deadline (a gRPC or Connect stream
  // ends a few ticks after its session is closed).
  let draining = false;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket;
    busy.add(socket);
    res.once('close', () => {
      busy.delete(socket);
      if (draining && !selfClosing.has(socket)) socket.end();
    });
  });
  server.on('upgrade', (req: IncomingMessage) => selfClosing.add(req.socket));
  server.on(h2cConnectionEvent, (socket: Socket) => selfClosing.add(socket));
  const closeIdle = (): void => {
    draining = true;
    for (const session of sessions) session.close();
    for (const socket of handshaking.values()) socket.destroy();
    for (const socket of all) if (!busy.has(socket) && !selfClosing.has(socket)) socket.destroy();
  };
  return {
    server,
    scheme,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    closeIdle,
    closeAll() {
      for (const socket of handshaking.values()) socket.destroy();
      for (const session of sessions) session.destroy();
      for (const socket of all) socket.destroy();
    },
  };
}
