import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

let t: TestEdge;
const clients: MqttClient[] = [];

beforeEach(async () => {
  t = await startTestEdge({ maxWildcardSubscriptions: 3 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await t.close();
});

async function connect(version: 4 | 5, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(t.url, {
    protocolVersion: version,
    username: 'alice',
    password: await t.token(),
    reconnectPeriod: 0,
    ...extra,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

type Got = Array<{ topic: string; text: string; qos: number; retain: boolean }>;

function record(client: MqttClient): Got {
  const got: Got = [];
  client.on('message', (topic, payload, packet) =>
    got.push({ topic, text: payload.toString(), qos: packet.qos, retain: packet.retain }),
  );
  return got;
}

const publish = (channel: string, text: string) => t.node.publish(channel, Buffer.from(text));

/** Publishes a marker on a channel every test filter below matches, and waits for it: nothing else is in flight. */
async function settle(got: Got, channel = 'chat:zz-marker'): Promise<void> {
  const marker = `marker-${Math.random()}`;
  await publish(channel, marker);
  await until(() => got.some((g) => g.text === marker));
  got.splice(
    got.findIndex((g) => g.text === marker),
    1,
  );
}

describe.each([4, 5] as const)('wildcard subscriptions, MQTT.js protocol level %i', (version) => {
  it('`+` matches one level, `#` the parent and every level below, byte for byte, and nothing else', async () => {
    const plus = await connect(version);
    const hash = await connect(version);
    const gotPlus = record(plus);
    const gotHash = record(hash);
    expect((await plus.subscribeAsync('chat/+', { qos: 0 }))[0]?.qos).toBe(0);
    expect((await hash.subscribeAsync('chat/room/#', { qos: 0 }))[0]?.qos).toBe(0);
    await publish('chat:room', 'parent');
    await publish('chat:room/a', 'child');
    await publish('chat:room/a/b', 'grandchild');
    await publish('chat:other', 'other');
    await publish('ro:room', 'other namespace');
    await t.node.publish('chat:bytes', new Uint8Array([0, 255, 1]));
    await settle(gotPlus);
    await settle(gotHash, 'chat:room/zz');
    expect(gotPlus.map((g) => [g.topic, g.text])).toEqual([
      ['chat/room', 'parent'],
      ['chat/other', 'other'],
      ['chat/bytes', '\u0000\ufffd\u0001'],
    ]);
    expect(gotHash.map((g) => [g.topic, g.text])).toEqual([
      ['chat/room', 'parent'],
      ['chat/room/a', 'child'],
      ['chat/room/a/b', 'grandchild'],
    ]);
  });

  it('checks the namespace permissions of every matched channel', async () => {
    const client = await connect(version);
    const got = record(client);
    await client.subscribeAsync('+/x', { qos: 0 });
    await publish('priv:x', 'private');
    await publish('ro:x', 'read-only');
    await publish('chat:x', 'chat');
    await settle(got, 'chat:x');
    expect(got.map((g) => g.text)).toEqual(['read-only', 'chat']);
  });

  it('sends the latest publication of each existing matching channel as retained, then live ones', async () => {
    await publish('chat:r/1', 'old-1');
    await publish('chat:r/1', 'latest-1');
    await publish('chat:r/2', 'latest-2');
    await publish('chat:s/1', 'elsewhere');
    await publish('priv:r/1', 'private');
    const client = await connect(version);
    const got = record(client);
    await client.subscribeAsync('+/r/+', { qos: 1 });
    await until(() => got.length >= 2);
    await publish('chat:r/2', 'live');
    await settle(got, 'chat:r/zz');
    expect(got.map((g) => [g.topic, g.text, g.retain]).sort()).toEqual([
      ['chat/r/1', 'latest-1', true],
      ['chat/r/2', 'latest-2', true],
      ['chat/r/2', 'live', false],
    ]);
    expect(got.at(-1)?.text).toBe('live');
  });

  it('delivers one copy with the highest QoS when filters overlap, and none twice with a subscription by name', async () => {
    const client = await connect(version);
    const got = record(client);
    await client.subscribeAsync({ 'chat/#': { qos: 0 }, 'chat/+': { qos: 1 }, 'chat/named': { qos: 0 } });
    await publish('chat:a', 'a');
    await publish('chat:named', 'named');
    await settle(got);
    expect(got.map((g) => [g.text, g.qos])).toEqual([
      ['a', 1],
      ['named', 0],
    ]);
  });

  it('stops after UNSUBSCRIBE, and counts wildcard filters against mqtt.maxWildcardSubscriptions', async () => {
    const client = await connect(version);
    const got = record(client);
    await client.subscribeAsync(['chat/+', 'ro/+', 'nohist/+'], { qos: 0 });
    const err = await client.subscribeAsync('chat/a/+', { qos: 0 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e,
    );
    expect(err?.packet?.granted).toEqual([version === 5 ? 0x97 : 0x80]);
    await client.unsubscribeAsync('chat/+');
    await publish('chat:a', 'gone');
    await publish('ro:a', 'kept');
    await until(() => got.length >= 1);
    await settle(got, 'ro:zz');
    expect(got.map((g) => g.text)).toEqual(['kept']);
  });

  it('a persistent session that held a wildcard filter resumes with session present 0', async () => {
    const options = {
      clientId: `wild-${version}`,
      clean: false,
      ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
    };
    const first = await connect(version, options);
    await first.subscribeAsync(['chat/+', 'chat/named'], { qos: 1 });
    await first.endAsync();
    const again = mqtt.connect(t.url, {
      protocolVersion: version,
      username: 'alice',
      password: await t.token(),
      reconnectPeriod: 0,
      ...options,
    });
    clients.push(again);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', resolve));
    expect(connack.sessionPresent).toBe(false);
  });
});

describe('wildcard subscriptions, MQTT 5 specifics', () => {
  it('CONNACK says Wildcard Subscription Available = 1', async () => {
    const client = mqtt.connect(t.url, {
      protocolVersion: 5,
      username: 'alice',
      password: await t.token(),
      reconnectPeriod: 0,
    });
    clients.push(client);
    const connack = await new Promise<{ properties?: { wildcardSubscriptionAvailable?: boolean } }>((resolve) =>
      client.once('connect', resolve),
    );
    expect(connack.properties?.wildcardSubscriptionAvailable).toBe(true);
  });

  it('Retain Handling 2 sends no retained messages for a wildcard filter', async () => {
    await publish('chat:rh/1', 'stored');
    const client = await connect(5);
    const got = record(client);
    await client.subscribeAsync('chat/rh/+', { qos: 0, rh: 2 });
    await publish('chat:rh/1', 'live');
    await settle(got, 'chat:rh/zz');
    expect(got.map((g) => g.text)).toEqual(['live']);
  });

  it('refuses wildcard filters with 0x87 when an onSubscribe hook decides subscriptions', async () => {
    await t.close();
    t = await startTestEdge({}, {}, { onSubscribe: async () => ({}) });
    const client = await connect(5);
    const err = await client.subscribeAsync(['chat/+', 'chat/named'], { qos: 0 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e,
    );
    expect(err?.packet?.granted).toEqual([0x87, 0]);
  });

  it('refuses `$` filters, a separator in the first level and an empty namespace with 0x8F', async () => {
    const client = await connect(5);
    const err = await client.subscribeAsync(['$SYS/#', 'chat:x/+', '/+'], { qos: 0 }).then(
      () => undefined,
      (e: { packet?: { granted?: number[] } }) => e,
    );
    expect(err?.packet?.granted).toEqual([0x8f, 0x8f, 0x8f]);
  });
});
