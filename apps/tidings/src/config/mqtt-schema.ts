import { z } from 'zod';

// The `mqtt` section of the configuration (packages/mqtt). Kept in its own file so schema.ts only
// gains one import and one key.

/** The MQTT edge options: listener, TLS, WebSocket path, limits and the topic mapping. */
export const mqttSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe('Serve MQTT 3.1.1 and 5.0 clients (docs/mqtt.md). On in the development profile.'),
    host: z.string().min(1).optional().describe('Interface the MQTT listener binds; unset = http.host.'),
    port: z
      .int()
      .min(0)
      .max(65535)
      .default(1883)
      .describe('MQTT over TCP port (the IANA MQTT port); 0 picks a free port (logged).'),
    tls: z
      .strictObject({
        port: z.int().min(0).max(65535).default(8883).describe('MQTT over TLS port; 0 picks a free port.'),
        certFile: z.string().min(1).describe('PEM certificate chain file.'),
        keyFile: z.string().min(1).describe('PEM private key file.'),
      })
      .optional()
      .describe('Also serve MQTT over TLS. Unset = no TLS listener.'),
    websocketPath: z
      .string()
      .regex(/^\/[^?#]*$/, 'an absolute URL path')
      .default('/mqtt')
      .describe('MQTT over WebSocket (subprotocol "mqtt") on the main HTTP port at this path.'),
    namespaceSeparator: z
      .string()
      .min(1)
      .default(':')
      .describe('Topic "ns/rest" maps to channel "ns<separator>rest": the first topic level is the namespace.'),
    topicPrefix: z
      .string()
      .default('')
      .describe('Prefix stripped from topics before mapping (and added on delivery), e.g. "tidings/".'),
    maxPacketSizeBytes: z
      .int()
      .min(64)
      .max(268_435_455)
      .default(1024 * 1024)
      .describe('Largest MQTT packet accepted; larger ones disconnect the client (5.0 reason 0x95).'),
    maxInflight: z
      .int()
      .min(1)
      .max(65535)
      .default(100)
      .describe('QoS 1 messages in flight to one client (5.0 Receive Maximum is honoured when lower).'),
    maxQueuedMessages: z
      .int()
      .min(1)
      .default(1000)
      .describe('QoS 1 messages waiting for an inflight slot; past this the client is disconnected (0x97).'),
    maxSocketBufferBytes: z
      .int()
      .min(1024)
      .default(4 * 1024 * 1024)
      .describe('Bytes buffered on one client socket; past this the client is disconnected (0x97).'),
    topicAliasMaximum: z.int().min(0).max(65535).default(32).describe('Topic aliases a 5.0 client may use.'),
    maxSessionExpiryMs: z
      .int()
      .min(1)
      .default(24 * 3600 * 1000)
      .describe('Longest a persistent session is kept while its client is away (3.1.1 clean session 0 uses this).'),
    maxStoredSessions: z.int().min(1).default(10_000).describe('Persistent sessions kept; the oldest go first.'),
    maxWildcardSubscriptions: z
      .int()
      .min(1)
      .default(100)
      .describe('Wildcard (+, #) filters one client may hold; more are refused in SUBACK (5.0: 0x97).'),
    maxRetainedPerFilter: z
      .int()
      .min(1)
      .default(1000)
      .describe('Existing channels a new wildcard filter gets the latest publication of (retained messages).'),
    positionProperties: z
      .boolean()
      .default(false)
      .describe(
        "Send each publication's stream position to MQTT 5 clients as user properties `tidings-offset` and `tidings-epoch`, so a client can order, deduplicate and spot gaps (3.1.1 has no properties).",
      ),
  })
  .prefault({})
  .describe('MQTT edge (packages/mqtt, docs/mqtt.md).');
