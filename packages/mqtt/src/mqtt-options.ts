import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { TopicMappingOptions } from './topic-mapping.js';

/** Limits and behaviour of the MQTT edge. Plain object; see `resolveMqttOptions`. */
export interface MqttOptions extends TopicMappingOptions {
  /** Largest MQTT packet accepted (and advertised in the 5.0 CONNACK). */
  readonly maxPacketSizeBytes: number;
  /** QoS 1 messages sent to one client and not yet acknowledged (5.0 Receive Maximum is honoured when lower). */
  readonly maxInflight: number;
  /** QoS 1 messages waiting for an inflight slot; past this the client is disconnected (slow consumer). */
  readonly maxQueuedMessages: number;
  /** Bytes buffered on the socket for one client; past this it is disconnected (slow consumer). */
  readonly maxSocketBufferBytes: number;
  /** Topic aliases a 5.0 client may use towards the server. */
  readonly topicAliasMaximum: number;
  /** Cap on a persistent session's expiry (3.1.1 clean session 0 uses this cap). */
  readonly maxSessionExpiryMs: number;
  /** Persistent sessions kept; the oldest are dropped first. */
  readonly maxStoredSessions: number;
  /** Time allowed between the TCP connection and its CONNECT packet. */
  readonly connectTimeoutMs: number;
  /** Wildcard (`+`, `#`) filters one client may hold; more are refused in SUBACK (5.0: 0x97). */
  readonly maxWildcardSubscriptions: number;
  /** Matching channels a new wildcard filter gets the latest publication of (its retained messages). */
  readonly maxRetainedPerFilter: number;
  /**
   * Send each publication's stream position to MQTT 5 clients as the user properties
   * `tidings-offset` and `tidings-epoch` (3.1.1 has no properties). Off by default: the bytes of a
   * PUBLISH are then the payload and topic only.
   */
  readonly positionProperties: boolean;
}

/** Defaults of the MQTT edge. */
export const defaultMqttOptions: MqttOptions = Object.freeze({
  maxPacketSizeBytes: 1024 * 1024,
  maxInflight: 100,
  maxQueuedMessages: 1000,
  maxSocketBufferBytes: 4 * 1024 * 1024,
  topicAliasMaximum: 32,
  maxSessionExpiryMs: 24 * 3600 * 1000,
  maxStoredSessions: 10_000,
  connectTimeoutMs: 10_000,
  maxWildcardSubscriptions: 100,
  maxRetainedPerFilter: 1000,
  positionProperties: false,
});

/** Merge defaults, validate and freeze. Throws `TIDINGS_ERR_CONFIG` naming the option. */
export function resolveMqttOptions(options: Partial<MqttOptions> = {}): MqttOptions {
  const merged = { ...defaultMqttOptions, ...options };
  const ints: Array<keyof MqttOptions> = [
    'maxPacketSizeBytes',
    'maxInflight',
    'maxQueuedMessages',
    'maxSocketBufferBytes',
    'maxSessionExpiryMs',
    'maxStoredSessions',
    'connectTimeoutMs',
    'maxWildcardSubscriptions',
    'maxRetainedPerFilter',
  ];
  for (const key of ints) {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new TidingsError(TidingsErrorCode.Config, `mqtt.${key} must be a positive integer`);
    }
  }
  if (merged.maxInflight > 65535) throw new TidingsError(TidingsErrorCode.Config, 'mqtt.maxInflight must be ≤ 65535');
  if (!Number.isInteger(merged.topicAliasMaximum) || merged.topicAliasMaximum < 0 || merged.topicAliasMaximum > 65535) {
    throw new TidingsError(TidingsErrorCode.Config, 'mqtt.topicAliasMaximum must be an integer in 0..65535');
  }
  if (typeof merged.positionProperties !== 'boolean') {
    throw new TidingsError(TidingsErrorCode.Config, 'mqtt.positionProperties must be true or false');
  }
  if (merged.maxPacketSizeBytes > 268_435_455) {
    throw new TidingsError(TidingsErrorCode.Config, 'mqtt.maxPacketSizeBytes must be ≤ 268435455 (the MQTT limit)');
  }
  return Object.freeze(merged);
}
