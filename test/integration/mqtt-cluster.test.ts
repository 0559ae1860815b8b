// Two `tidings serve` nodes on the shared Redis, each with its MQTT edge: an MQTT client on node A
// gets what an MQTT client publishes on node B, and a persistent session kept on node A resumes
// there after 100 publications made through node B (checked by the ledger checker), or reports
// session present 0 once node B published past its history.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signToken } from '@tidings/server';
import { createLedger } from '@tidings/testkit';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'mqtt-cluster-secret-0123456789abcdef';
const prefix = `tidings-test-mqtt:${randomBytes(6).toString('hex')}:`;
const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });
const nodes: RunningServer[] = [];

async function startNode(): Promise<RunningServer> {
  const server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        engine: { type: 'redis', url: 'redis://127.0.0.1:6379', prefix },
        auth: { keys: [{ alg: 'HS256', secret }] },
        channels: {
          namespaces: {
            chat: {
              historySize: 500,
              historyTtlMs: 300_000,
              allowRecovery: true,
              allowSubscribeForClient: true,
              allowPublishForClient: true,
            },
            tiny: { historySize: 5, historyTtlMs: 300_000, allowRecovery: true, allowSubscribeForClient: true },
          },
        },
        mqtt: { enabled: true, port: 0 },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  nodes.push(server);
  return server;
}

beforeAll(async () => {
  await startNode();
  await startNode();
});
afterAll(async () => {
  for (const n of nodes) await n.close();
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function client(node: RunningServer, options: mqtt.IClientOptions = {}): Promise<[MqttClient, boolean]> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${node.mqtt!.port}`, {
    username: 'u',
    password: await token('u'),
    reconnectPeriod: 0,
    ...options,
  });
  const present = await new Promise<boolean>((resolve, reject) => {
    c.once('connect', (connack) => resolve(connack.sessionPresent));
    c.once('error', reject);
  });
  return [c, present];
}

it('an MQTT QoS 1 publish on node B reaches an MQTT subscriber on node A', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  const [sub] = await client(a);
  const got: string[] = [];
  sub.on('message', (_t, p) => got.push(p.toString()));
  await sub.subscribeAsync('chat/cross', { qos: 1 });
  const [pub] = await client(b, { protocolVersion: 5 });
  await pub.publishAsync('chat/cross', 'from-b', { qos: 1 });
  await until(() => got.length === 1);
  expect(got).toEqual(['from-b']);
  await sub.endAsync();
  await pub.endAsync();
});

it('a persistent session on node A resumes all 100 publications made on node B, once and in order', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  const ledger = createLedger();
  const positions = new Map<string, { offset: number; epoch: string }>();
  const opts = {
    clientId: `dev-${prefix}`,
    clean: false,
    protocolVersion: 5 as const,
    properties: { sessionExpiryInterval: 300 },
  };
  const [first] = await client(a, opts);
  await first.subscribeAsync('chat/fleet', { qos: 1 });
  ledger.subscribed('dev', 'chat:fleet');
  await first.endAsync();
  for (let i = 0; i < 100; i++) {
    const id = `m${i}`;
    const r = await b.node.publish('chat:fleet', Buffer.from(id));
    positions.set(id, r);
    ledger.acked('chat:fleet', { ...r, id });
  }
  const got: string[] = [];
  const again = mqtt.connect(`mqtt://127.0.0.1:${a.mqtt!.port}`, {
    ...opts,
    username: 'u',
    password: await token('u'),
    reconnectPeriod: 0,
  });
  again.on('message', (_t, p) => got.push(p.toString()));
  const present = await new Promise<boolean>((resolve) => again.once('connect', (c) => resolve(c.sessionPresent)));
  expect(present).toBe(true);
  await until(() => got.length >= 100);
  for (const id of got) ledger.received('dev', 'chat:fleet', { ...positions.get(id)!, id });
  const report = ledger.check({ expectAll: true });
  expect(report.ok, report.details.join('\n')).toBe(true);
  expect(report.lost).toBe(0);
  expect(got).toHaveLength(100);
  await again.endAsync();
});

it('a persistent session on node A reports session present 0 once node B published past its history', async () => {
  const [a, b] = nodes as [RunningServer, RunningServer];
  const opts = {
    clientId: `gap-${prefix}`,
    clean: false,
    protocolVersion: 5 as const,
    properties: { sessionExpiryInterval: 300 },
  };
  const [first] = await client(a, opts);
  await first.subscribeAsync('tiny/fleet', { qos: 1 });
  await first.endAsync();
  // History keeps 5: after 10 publications the first missed ones are gone.
  for (let i = 0; i < 10; i++) await b.node.publish('tiny:fleet', Buffer.from(`m${i}`));
  const [again, present] = await client(a, opts);
  expect(present).toBe(false);
  // The old subscription was dropped, not resumed with a hole: nothing arrives until it subscribes again.
  const got: string[] = [];
  again.on('message', (_t, p) => got.push(p.toString()));
  await b.node.publish('tiny:fleet', Buffer.from('after'));
  await again.subscribeAsync('tiny/fleet', { qos: 1 });
  await until(() => got.length >= 1);
  expect(got).toEqual(['after']);
  await again.endAsync();
});
