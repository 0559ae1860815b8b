import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

const edges: TestEdge[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const e of edges.splice(0)) await e.close();
});

async function connect(t: TestEdge, version: 4 | 5, extra: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(t.url, {
    protocolVersion: version,
    username: 'a',
    password: await t.token(),
    reconnectPeriod: 0,
    ...extra,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
  return client;
}

interface Received {
  readonly payload: string;
  readonly props: Record<string, unknown> | undefined;
}

async function receive(t: TestEdge, version: 4 | 5, qos: 0 | 1): Promise<Received[]> {
  const client = await connect(t, version);
  const got: Received[] = [];
  client.on('message', (_topic, payload, packet) =>
    got.push({ payload: payload.toString(), props: packet.properties?.userProperties as Record<string, unknown> }),
  );
  await client.subscribeAsync('chat/pos', { qos });
  await t.node.publish('chat:pos', Buffer.from('"one"'));
  await t.node.publish('chat:pos', Buffer.from('"two"'));
  await until(() => got.length >= 2);
  expect(got.map((g) => g.payload)).toEqual(['"one"', '"two"']);
  return got;
}

describe('mqtt.positionProperties', () => {
  for (const qos of [0, 1] as const) {
    it(`on: MQTT 5 publishes carry tidings-offset and tidings-epoch (QoS ${qos}); payloads unchanged`, async () => {
      const t = await startTestEdge({ positionProperties: true });
      edges.push(t);
      const got = await receive(t, 5, qos);
      const top = await t.node.history('chat:pos', { limit: 0 });
      expect(got.map((g) => g.props)).toEqual([
        { 'tidings-offset': String(top.offset - 1), 'tidings-epoch': top.epoch },
        { 'tidings-offset': String(top.offset), 'tidings-epoch': top.epoch },
      ]);
    });
  }

  it('off (the default): no user properties; and 3.1.1 never has them', async () => {
    const off = await startTestEdge();
    edges.push(off);
    expect((await receive(off, 5, 1)).map((g) => g.props)).toEqual([undefined, undefined]);
    const on = await startTestEdge({ positionProperties: true });
    edges.push(on);
    expect((await receive(on, 4, 1)).map((g) => g.props)).toEqual([undefined, undefined]);
  });
});
