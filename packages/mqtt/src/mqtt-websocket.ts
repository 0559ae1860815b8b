import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isOriginAllowed } from '@tidings/server';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { MqttEdge } from './mqtt-edge.js';

/** Options of `createMqttWebSocketHandler`. */
export interface MqttWebSocketOptions {
  /** URL path of MQTT over WebSocket, e.g. `/mqtt`. */
  readonly path: string;
  /** Browser origins allowed (same semantics as the WebSocket transport); no Origin = not a browser. */
  readonly allowedOrigins: readonly string[];
  /** Largest WebSocket message accepted (MQTT packets may span messages; this bounds one). */
  readonly maxPayloadBytes: number;
}

/** Serves MQTT over WebSocket upgrades on an HTTP server the caller owns. */
export interface MqttWebSocketHandler {
  /** Takes the upgrade when it is for the MQTT path (true), else leaves it alone (false). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): Promise<void>;
}

/**
 * MQTT over WebSocket (MQTT 5.0 §6, subprotocol `mqtt`; `mqttv3.1` accepted for old clients):
 * the WebSocket becomes a byte stream fed to the edge, MQTT packets may span messages.
 */
export function createMqttWebSocketHandler(edge: MqttEdge, options: MqttWebSocketOptions): MqttWebSocketHandler {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  return {
    handleUpgrade(req, socket, head) {
      const path = (req.url ?? '').split('?', 1)[0];
      if (path !== options.path) return false;
      if (!isOriginAllowed(req, options.allowedOrigins)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        edge.handle(stream, req.socket.remoteAddress);
      });
      return true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
