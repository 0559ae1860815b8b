// A ledger-recording MQTT 5 subscriber (MQTT.js over WebSocket at `/mqtt`, so it passes the
// nemesis TCP balancer like every other transport) with a persistent session and QoS 1. Positions
// come from the `tidings-offset` / `tidings-epoch` user properties (`mqtt.positionProperties`).
// What an MQTT application sees is recorded: a CONNACK with `session present = 0` after it had a
// session is the protocol's explicit signal that the session (and what it would have resumed) is
// gone; a QoS 1 re-delivery of a position it already has is dropped, as an application keyed by
// position would, and counted (`stats.redeliveries`), never recorded twice.
import mqtt, { type MqttClient } from 'mqtt';
import type { NemesisSubscriber, SubscriberContext } from './subscriber.js';

const decoder = new TextDecoder();

const payloadId = (data: Uint8Array): string => {
  try {
    return (JSON.parse(decoder.decode(data)) as { id?: string } | null)?.id ?? '';
  } catch {
    return '';
  }
};

/** The documented mapping (docs/mqtt.md): the first `:` becomes the first `/`. */
const topicOf = (channel: string): string => channel.replace(':', '/');

export function mqttSubscriber(ctx: SubscriberContext): NemesisSubscriber & {
  readonly stats: { connects: number; failures: number; redeliveries: number };
} {
  const { id, channel, ledger } = ctx;
  const stats = { connects: 0, failures: 0, redeliveries: 0 };
  let client: MqttClient | undefined;
  let last: { epoch: string; offset: number } | undefined;
  let hadSession = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  ledger.subscribed(id, channel);

  const schedule = (): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, ctx.reconnectDelayMs);
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    let token: string;
    try {
      token = await ctx.token();
    } catch {
      stats.failures++;
      schedule();
      return;
    }
    const c = mqtt.connect(`${ctx.base().replace(/^http/, 'ws')}/mqtt`, {
      protocolVersion: 5,
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      username: id,
      password: token,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      keepalive: 5,
    });
    client = c;
    stats.connects++;
    c.on('connect', (connack) => {
      if (connack.sessionPresent) return;
      if (hadSession) ledger.discontinuity(id, channel, { reason: 'session present 0' });
      c.subscribe(topicOf(channel), { qos: 1 }, (error) => {
        if (error) {
          stats.failures++;
          c.end(true);
        } else hadSession = true;
      });
    });
    c.on('message', (_topic, payload, packet) => {
      const props = packet.properties?.userProperties as Record<string, string> | undefined;
      const offset = Number(props?.['tidings-offset'] ?? -1);
      const epoch = String(props?.['tidings-epoch'] ?? '');
      if (last !== undefined && epoch === last.epoch && offset <= last.offset) {
        stats.redeliveries++;
        return;
      }
      ledger.received(id, channel, { offset, epoch, id: payloadId(payload) });
      last = { epoch, offset };
    });
    c.on('error', () => stats.failures++);
    c.on('close', () => {
      if (client === c) client = undefined;
      c.removeAllListeners();
      c.end(true);
      schedule();
    });
  };

  void connect();
  return {
    id,
    transport: 'mqtt',
    channel,
    stats,
    // Drop the connection without DISCONNECT: the session stays on the server for the reconnect.
    flap: () => client?.stream?.destroy(),
    stall: () => undefined,
    close: async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await client?.endAsync(true).catch(() => undefined);
    },
  };
}
