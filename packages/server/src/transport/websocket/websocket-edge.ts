import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Codec, jsonCodec, msgpackCodec, msgpackSubprotocol, protobufCodec } from '@tidings/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TidingsNode } from '../../core/node.js';
import type { Session } from '../../core/session.js';
import { isOriginAllowed } from '../origin.js';
import { WebSocketTransport } from './websocket-transport.js';
import { deflateThresholdBytes } from './ws-frame.js';

/** Subprotocol that selects the Protobuf codec, as the centrifuge SDKs send it. */
export const PROTOBUF_SUBPROTOCOL = 'centrifuge-protobuf';

const perMessageDeflate = Object.freeze({ serverNoContextTakeover: true, threshold: deflateThresholdBytes });

/** Options of the WebSocket edge. */
export interface WebSocketEdgeOptions {
  /** URL path that accepts upgrades. */
  readonly path?: string;
  /** Browser origins allowed besides the server's own; see `isOriginAllowed`. */
  readonly allowedOrigins?: readonly string[];
  /** Largest accepted client message; a larger one closes the connection with 1009. */
  readonly maxFrameBytes?: number;
  /**
   * permessage-deflate, off by default. When on, the server negotiates no server context
   * takeover, and a publication is compressed once per codec for all subscribers.
   */
  readonly compression?: boolean;
}

/** The WebSocket edge attached to an HTTP server's `upgrade` event. */
export interface WebSocketEdge {
  /** Handles the upgrade when the path matches and returns true; returns false otherwise. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Stops accepting upgrades. Open sessions are closed by `node.shutdown()`. */
  close(): Promise<void>;
}

/**
 * Centrifuge protocol v2 over WebSocket: JSON by default, Protobuf with the
 * `centrifuge-protobuf` subprotocol, MessagePack with `tidings-msgpack`. Upgrades from browser origins outside the allow-list get
 * 403 before any WebSocket is created.
 */
export function createWebSocketEdge(node: TidingsNode, options: WebSocketEdgeOptions = {}): WebSocketEdge {
  const path = options.path ?? '/connection/websocket';
  const allowed = options.allowedOrigins ?? [];
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes ?? 65_536,
    // No server context takeover: each message is compressed on its own, so one compressed frame
    // per publication is shared by every subscriber (WebSocketTransport.writeShared).
    perMessageDeflate: options.compression === true ? perMessageDeflate : false,
    clientTracking: false,
    handleProtocols: selectSubprotocol,
  });
  let closed = false;

  const accept = (ws: WebSocket, req: IncomingMessage) => {
    const codec = codecOfSubprotocol(ws.protocol);
    const session = node.openSession(new WebSocketTransport(ws, codec), {
      headers: req.headers,
      ...(req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {}),
    });
    (ws as SessionSocket)[sessionKey] = session;
    ws.on('message', onMessage);
    ws.on('close', onGone);
    // ws reports protocol violations (e.g. a frame over maxPayload: close 1009) here and closes itself.
    ws.on('error', onGone);
  };

  return {
    handleUpgrade(req, socket, head) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      if ((q === -1 ? url : url.slice(0, q)) !== path) return false;
      if (closed || !node.ready()) {
        reject(socket, 503, 'Service Unavailable');
        return true;
      }
      if (!isOriginAllowed(req, allowed)) {
        reject(socket, 403, 'Forbidden');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
      return true;
    },
    async close() {
      closed = true;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

// The listeners are shared by every connection (`this` is the WebSocket) and find the session
// on the socket: three closures and their context per idle connection cost more than one slot.
const sessionKey = Symbol('tidings.session');

interface SessionSocket extends WebSocket {
  [sessionKey]?: Session;
}

function onMessage(this: SessionSocket, data: Buffer | ArrayBuffer | Buffer[]): void {
  this[sessionKey]?.handleFrame(
    Array.isArray(data) ? Buffer.concat(data) : data instanceof Buffer ? data : new Uint8Array(data),
  );
}

function onGone(this: SessionSocket): void {
  this[sessionKey]?.transportClosed();
}

/** The subprotocol the server picks from the client's offer: Protobuf, then MessagePack, else none (JSON). */
function selectSubprotocol(protocols: Set<string>): string | false {
  if (protocols.has(PROTOBUF_SUBPROTOCOL)) return PROTOBUF_SUBPROTOCOL;
  if (protocols.has(msgpackSubprotocol)) return msgpackSubprotocol;
  return false;
}

function codecOfSubprotocol(protocol: string): Codec {
  if (protocol === PROTOBUF_SUBPROTOCOL) return protobufCodec;
  if (protocol === msgpackSubprotocol) return msgpackCodec;
  return jsonCodec;
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
