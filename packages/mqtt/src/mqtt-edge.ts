import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { EncodedPush, TidingsNode } from '@tidings/server';
import { MqttConnection } from './mqtt-connection.js';
import { type MqttOptions, resolveMqttOptions } from './mqtt-options.js';
import type { EdgeContext } from './outbound.js';
import { SessionStore } from './session-store.js';
import { TopicMapping } from './topic-mapping.js';

/** Options of `createMqttEdge`. */
export interface MqttEdgeOptions extends Partial<MqttOptions> {
  readonly node: TidingsNode;
}

/** A TLS listener's certificate and key (PEM). */
export interface MqttTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/**
 * The MQTT edge of a node: MQTT 3.1.1 and 5.0 clients on the node's channels, over TCP, TLS or
 * any duplex stream (WebSocket via `ws.createWebSocketStream`).
 *
 * Contract: every client runs through a Tidings Session, so authentication (password = the
 * connection JWT), namespace permissions, recovery and limits are those of WebSocket clients.
 * Persistent sessions live in this edge's memory. `close` stops the listeners and disconnects
 * every client; it is idempotent.
 */
export class MqttEdge {
  readonly #ctx: EdgeContext;
  readonly #servers: Server[] = [];
  readonly #tlsServers: ReturnType<typeof createTlsServer>[] = [];
  readonly #sockets = new Set<Duplex>();
  #closed = false;

  constructor(options: MqttEdgeOptions) {
    const { node, ...rest } = options;
    const resolved = resolveMqttOptions(rest);
    this.#ctx = {
      node,
      mapping: new TopicMapping(resolved),
      options: resolved,
      store: new SessionStore(resolved.maxStoredSessions, Date.now),
      connections: new Map(),
      sharedPackets: { v4: new WeakMap<EncodedPush, Buffer>(), v5: new WeakMap<EncodedPush, Buffer>() },
    };
  }

  /** The topic ↔ channel mapping in use. */
  get mapping(): TopicMapping {
    return this.#ctx.mapping;
  }

  /** Connected MQTT clients (after CONNECT). */
  get numClients(): number {
    return this.#ctx.connections.size;
  }

  /** Persistent sessions stored while their clients are away. */
  get numStoredSessions(): number {
    return this.#ctx.store.size;
  }

  /** Listen for MQTT over TCP (`tls` given: over TLS). Resolves with the bound address. */
  listen(port: number, host = '0.0.0.0', tls?: MqttTlsOptions): Promise<AddressInfo> {
    const server: Server =
      tls === undefined ? createServer((socket: Socket) => this.handle(socket, socket.remoteAddress)) : this.#tls(tls);
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /**
   * Replaces the certificate and key of every TLS listener (e.g. on SIGHUP): new handshakes use
   * them, open connections keep theirs. Throws when the pair is not valid; the old one stays.
   */
  reloadTls(tls: MqttTlsOptions): void {
    for (const server of this.#tlsServers)
      server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
  }

  #tls(tls: MqttTlsOptions): Server {
    // TLS 1.0 and 1.1 are refused (RFC 8996), whatever Node's default is.
    const server = createTlsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, (socket: TLSSocket) =>
      this.handle(socket, socket.remoteAddress),
    );
    this.#tlsServers.push(server);
    return server;
  }

  /** Serve one MQTT client over an already open duplex stream (TCP, TLS or WebSocket). */
  handle(stream: Duplex, remoteAddress?: string): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    if ('setNoDelay' in stream && typeof stream.setNoDelay === 'function') (stream as Socket).setNoDelay(true);
    this.#sockets.add(stream);
    stream.once('close', () => this.#sockets.delete(stream));
    new MqttConnection(this.#ctx, stream, remoteAddress);
  }

  /** Stop listening and close every client connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Create an MQTT edge for `node`; call `listen` (or feed `handle`) to serve clients. */
export function createMqttEdge(options: MqttEdgeOptions): MqttEdge {
  return new MqttEdge(options);
}
