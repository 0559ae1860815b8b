import { createLedger } from '@tidings/testkit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, type TestEdge, until } from './test-node.test-helpers.js';

let t: TestEdge;
const clients: MqttClient[] = [];

beforeEach(async () => {
  t = await startTestEdge();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await t.close();
});

interface Connected {
  readonly client: MqttClient;
  readonly sessionPresent: boolean;
  readonly got: Array<{ topic: string; payload: string }>;
}

async function connect(version: 4 | 5, clientId: string): Promise<Connected> {
  const got: Array<{ topic: string; payload: string }> = [];
  const client = mqtt.connect(t.url, {
    protocolVersion: version,
    clientId,
    clean: false,
    username: 'alice',
    password: await t.token(),
    reconnectPeriod: 0,
    ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}),
  });
  clients.push(client);
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (connack) => resolve(connack.sessionPresent));
    client.once('error', reject);
  });
  return { client, sessionPresent, got };
}

async function end(client: MqttClient): Promise<void> {
  await client.endAsync();
  await until(() => t.edge.numClients === 0);
}

describe.each([4, 5] as const)('persistent sessions, protocol level %i', (version) => {
  it('an offline session gets all 100 publications once, in order, with session-present 1', async () => {
    const ledger = createLedger();
    const ids = new Map<string, { offset: number; epoch: string }>();
    const publish = async (i: number) => {
      const id = `m${i}`;
      const r = await t.node.publish('chat:dev', Buffer.from(id));
      ids.set(id, r);
      ledger.acked('chat:dev', { offset: r.offset, epoch: r.epoch, id });
    };
    const first = await connect(version, `dev-${version}`);
    expect(first.sessionPresent).toBe(false);
    await first.client.subscribeAsync('chat/dev', { qos: 1 });
    ledger.subscribed('sub', 'chat:dev');
    await publish(0);
    await until(() => first.got.length === 1);
    await end(first.client);
    expect(t.edge.numStoredSessions).toBe(1);

    for (let i = 1; i <= 100; i++) await publish(i);
    const again = await connect(version, `dev-${version}`);
    expect(again.sessionPresent).toBe(true);
    await publish(101);
    await until(() => again.got.length >= 101);
    for (const m of [...first.got, ...again.got]) {
      const pos = ids.get(m.payload)!;
      ledger.received('sub', 'chat:dev', { ...pos, id: m.payload });
    }
    const report = ledger.check({ expectAll: true });
    expect(report.ok, report.details.join('\n')).toBe(true);
    expect(report.lost).toBe(0);
    expect(again.got.map((m) => m.payload)).toEqual(Array.from({ length: 101 }, (_, i) => `m${i + 1}`));
  });

  it('reports session-present 0 and drops the subscriptions once history no longer covers the gap', async () => {
    const first = await connect(version, `gap-${version}`);
    await first.client.subscribeAsync('ro/feed', { qos: 1 });
    await t.node.publish('ro:feed', Buffer.from('seen'));
    await until(() => first.got.length === 1);
    await end(first.client);
    // The `ro` namespace keeps 10 publications: 30 overflow what the session could resume.
    for (let i = 0; i < 30; i++) await t.node.publish('ro:feed', Buffer.from(`x${i}`));
    const again = await connect(version, `gap-${version}`);
    expect(again.sessionPresent).toBe(false);
    // Nothing resumed silently, and the old subscription is gone: a fresh one works.
    await t.node.publish('ro:feed', Buffer.from('after'));
    await again.client.subscribeAsync('chat/probe', { qos: 0 });
    await t.node.publish('chat:probe', Buffer.from('probe'));
    await until(() => again.got.length >= 1);
    expect(again.got.map((m) => m.payload)).toEqual(['probe']);
  });

  it('a clean session discards what was stored', async () => {
    const first = await connect(version, `clean-${version}`);
    await first.client.subscribeAsync('chat/c', { qos: 1 });
    await end(first.client);
    expect(t.edge.numStoredSessions).toBe(1);
    const client = mqtt.connect(t.url, {
      protocolVersion: version,
      clientId: `clean-${version}`,
      clean: true,
      username: 'alice',
      password: await t.token(),
      reconnectPeriod: 0,
    });
    clients.push(client);
    const present = await new Promise<boolean>((resolve) => client.once('connect', (c) => resolve(c.sessionPresent)));
    expect(present).toBe(false);
    expect(t.edge.numStoredSessions).toBe(0);
  });
});
