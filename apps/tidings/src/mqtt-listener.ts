import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createMqttEdge, createMqttWebSocketHandler } from '@tidings/mqtt';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Logger, TidingsNode } from '@tidings/server';
import type { TidingsConfig } from './config/schema.js';

/** The running MQTT edge of `tidings serve`. */
export interface MqttListener {
  /** Bound MQTT/TCP port; undefined when the development profile found it taken. */
  readonly port: number | undefined;
  /** Bound MQTT/TLS port, when `mqtt.tls` is set. */
  readonly tlsPort: number | undefined;
  /** MQTT over WebSocket on the HTTP server: true when it took the upgrade. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Re-reads `mqtt.tls`'s certificate and key files for new handshakes; open connections are
   * kept. A no-op without `mqtt.tls`. @throws TidingsError `TIDINGS_ERR_CONFIG` when the files
   * cannot be read or do not form a valid pair (the previous pair stays in use).
   */
  reloadTls(): void;
  close(): Promise<void>;
}

/**
 * Starts the MQTT edge as `config.mqtt` says: TCP, optional TLS, and the WebSocket path on the
 * main HTTP port. In the development profile a taken TCP port (a local Mosquitto on 1883) is
 * logged and skipped, so `tidings serve` still starts; with a config file it fails start-up.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` naming the option when a port cannot be bound or
 *   the TLS files cannot be read.
 */
export async function startMqttListener(
  config: TidingsConfig,
  node: TidingsNode,
  logger: Logger,
  profile: 'development' | 'file',
): Promise<MqttListener> {
  const m = config.mqtt;
  const edge = createMqttEdge({
    node,
    namespaceSeparator: m.namespaceSeparator,
    topicPrefix: m.topicPrefix,
    maxPacketSizeBytes: m.maxPacketSizeBytes,
    maxInflight: m.maxInflight,
    maxQueuedMessages: m.maxQueuedMessages,
    maxSocketBufferBytes: m.maxSocketBufferBytes,
    topicAliasMaximum: m.topicAliasMaximum,
    maxSessionExpiryMs: m.maxSessionExpiryMs,
    maxStoredSessions: m.maxStoredSessions,
    maxWildcardSubscriptions: m.maxWildcardSubscriptions,
    maxRetainedPerFilter: m.maxRetainedPerFilter,
    positionProperties: m.positionProperties,
  });
  const host = m.host ?? config.http.host;
  let port: number | undefined;
  let tlsPort: number | undefined;
  try {
    port = (await edge.listen(m.port, host)).port;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (profile !== 'development' || code !== 'EADDRINUSE') {
      await edge.close();
      throw new TidingsError(TidingsErrorCode.Config, `mqtt.port: cannot listen on ${host}:${m.port} (${code})`, {
        cause: error,
      });
    }
    logger.warn({ port: m.port }, 'mqtt.port is in use: MQTT over TCP is off (MQTT over WebSocket still works)');
  }
  if (m.tls !== undefined) {
    try {
      const tls = { cert: readFileSync(m.tls.certFile), key: readFileSync(m.tls.keyFile) };
      tlsPort = (await edge.listen(m.tls.port, host, tls)).port;
    } catch (error) {
      await edge.close();
      throw new TidingsError(TidingsErrorCode.Config, `mqtt.tls: ${(error as Error).message}`, { cause: error });
    }
  }
  const ws = createMqttWebSocketHandler(edge, {
    path: m.websocketPath,
    allowedOrigins: config.websocket.allowedOrigins,
    maxPayloadBytes: m.maxPacketSizeBytes,
  });
  logger.info({ port, tlsPort, websocketPath: m.websocketPath }, 'mqtt listening');
  return {
    port,
    tlsPort,
    handleUpgrade: (req, socket, head) => ws.handleUpgrade(req, socket, head),
    reloadTls: () => {
      if (m.tls === undefined) return;
      try {
        edge.reloadTls({ cert: readFileSync(m.tls.certFile), key: readFileSync(m.tls.keyFile) });
      } catch (error) {
        throw new TidingsError(TidingsErrorCode.Config, `mqtt.tls: ${(error as Error).message}`, { cause: error });
      }
    },
    close: async () => {
      await ws.close();
      await edge.close();
    },
  };
}
