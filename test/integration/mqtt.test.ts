// The MQTT edge inside `tidings serve`: Debian's mosquitto_sub / mosquitto_pub and MQTT.js (TCP
// and WebSocket at /mqtt) next to the centrifuge SDK and SSE, on the same channels and history.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { signToken } from '@tidings/server';
import { Centrifuge } from 'centrifuge/build/protobuf';
import { EventSource } from 'eventsource';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const run = promisify(execFile);
const secret = 'mqtt-integration-secret-0123456789abcdef';
const apiKey = 'mqtt-integration-api-key-0123456789';
const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

let server: RunningServer;
let base: string;
let mqttPort: number;

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  requireTool('mosquitto_pub', 'mosquitto-clients');
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: {
          namespaces: {
            chat: {
              historySize: 100,
              historyTtlMs: 300_000,
              allowRecovery: true,
              allowSubscribeForClient: true,
              allowPublishForClient: true,
            },
          },
        },
        mqtt: { enabled: true, port: 0 },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  base = `http://127.0.0.1:${server.port}`;
  mqttPort = server.mqtt!.port!;
});
afterAll(async () => {
  await server.close();
});

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** mosquitto_sub printing each message as `topic payload-hex`. */
async function mosquittoSub(topic: string, version: 'mqttv311' | 'mqttv5') {
  const lines: string[] = [];
  const child: ChildProcess = spawn('mosquitto_sub', [
    ...['-h', '127.0.0.1', '-p', String(mqttPort), '-V', version, '-q', '1', '-t', topic],
    ...['-u', 'sub', '-P', await token('sub'), '-F', '%t %x', '-i', `sub-${version}-${Date.now()}`],
  ]);
  let buffer = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  // Subscribed once the node counts it.
  await until(() => server.node.channels().some((c) => c.channel === topic.replace('/', ':')));
  return { lines, stop: () => child.kill() };
}

async function apiPublish(channel: string, data: unknown) {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

describe.each(['mqttv311', 'mqttv5'] as const)('mosquitto clients (%s)', (version) => {
  it('one /api/publish reaches mosquitto_sub, the centrifuge SDK and SSE with the same bytes', async () => {
    const channel = `chat:x-${version}`;
    const sub = await mosquittoSub(`chat/x-${version}`, version);
    const sdk = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('ws'),
    });
    const wsGot: Uint8Array[] = [];
    const s = sdk.newSubscription(channel);
    s.on('publication', (ctx) => wsGot.push(ctx.data as Uint8Array));
    s.subscribe();
    sdk.connect();
    await new Promise<void>((resolve) => s.once('subscribed', () => resolve()));
    const es = new EventSource(`${base}/connection/sse?channel=${channel}&token=${await token('sse')}`);
    const sseGot: string[] = [];
    es.onmessage = (e) => sseGot.push(e.data);
    await new Promise<void>((resolve) => es.addEventListener('connected', () => resolve()));
    try {
      const data = { price: 1.5, sym: 'ÅÄ€', list: [1, 2] };
      await apiPublish(channel, data);
      await until(() => sub.lines.length >= 1 && wsGot.length >= 1 && sseGot.length >= 1);
      const [topic, hex] = sub.lines[0]!.split(' ');
      expect(topic).toBe(`chat/x-${version}`);
      const mqttBytes = Buffer.from(hex!, 'hex');
      expect(mqttBytes.toString()).toBe(JSON.stringify(data));
      expect(Buffer.from(wsGot[0]!).equals(mqttBytes)).toBe(true);
      // SSE carries the publication's JSON data embedded as is.
      expect(sseGot[0]).toContain(mqttBytes.toString());
    } finally {
      sub.stop();
      sdk.disconnect();
      es.close();
    }
  });

  it('mosquitto_pub -q 1 reaches a WebSocket subscriber and is in the history', async () => {
    const channel = `chat:pub-${version}`;
    const sdk = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('ws'),
    });
    const got: string[] = [];
    const s = sdk.newSubscription(channel);
    s.on('publication', (ctx) => got.push(Buffer.from(ctx.data as Uint8Array).toString()));
    s.subscribe();
    sdk.connect();
    await new Promise<void>((resolve) => s.once('subscribed', () => resolve()));
    try {
      const payload = `{"from":"mosquitto","v":"${version}"}`;
      await run('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', String(mqttPort), '-V', version, '-q', '1'],
        ...['-t', `chat/pub-${version}`, '-m', payload, '-u', 'dev', '-P', await token('dev')],
      ]);
      // mosquitto_pub exits after its PUBACK: by then the publication is stored.
      const h = await server.node.history(channel, { limit: 10 });
      expect(h.publications.map((p) => Buffer.from(p.data).toString())).toEqual([payload]);
      await until(() => got.length === 1);
      expect(got).toEqual([payload]);
    } finally {
      sdk.disconnect();
    }
  });

  it('mosquitto_sub -t chat/# -q 1 gets the latest of each chat channel as retained, then live ones', async () => {
    const room = `w${version}-${Date.now()}`;
    await apiPublish(`chat:${room}/a`, { n: 1 });
    const child = spawn('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(mqttPort), '-V', version, '-q', '1', '-t', `chat/${room}/#`],
      ...['-C', '3', '-W', '20', '-F', '%r %t %p', '-u', 'w', '-P', await token('w')],
    ]);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // The retained message comes right after the SUBACK: from then on the filter is live.
    await until(() => stdout.includes('\n'));
    await apiPublish(`chat:${room}/b/c`, { n: 2 });
    await apiPublish(`chat:${room}`, { n: 3 });
    expect(await exited).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      `1 chat/${room}/a {"n":1}`,
      `0 chat/${room}/b/c {"n":2}`,
      `0 chat/${room} {"n":3}`,
    ]);
  });
});

describe('API key login (user name api-key)', () => {
  it('a trusted backend publishes with the API key; a wrong key is refused', async () => {
    await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '1', '-t', 'chat/backend', '-m', 'from-backend'],
      ...['-u', 'api-key', '-P', apiKey],
    ]);
    const h = await server.node.history('chat:backend', { limit: 10 });
    expect(h.publications.map((p) => Buffer.from(p.data).toString())).toEqual(['from-backend']);
    const refused = await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(mqttPort), '-q', '1', '-t', 'chat/backend', '-m', 'x'],
      ...['-u', 'api-key', '-P', 'not-the-key-0123456789'],
    ]).then(
      () => 'accepted',
      (e: { stderr?: string }) => e.stderr ?? 'refused',
    );
    expect(refused).toMatch(/not authori[sz]ed|bad user|refused/i);
  });
});

describe('MQTT.js over WebSocket at /mqtt', () => {
  it.each([4, 5] as const)('subscribes and publishes at protocol level %i', async (protocolVersion) => {
    const client = mqtt.connect(`ws://127.0.0.1:${server.port}/mqtt`, {
      protocolVersion,
      username: 'w',
      password: await token('w'),
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const got: string[] = [];
    client.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await client.subscribeAsync(`chat/ws${protocolVersion}`, { qos: 1 });
    await client.publishAsync(`chat/ws${protocolVersion}`, 'hello', { qos: 1 });
    await until(() => got.length === 1);
    expect(got).toEqual([`chat/ws${protocolVersion}=hello`]);
    await client.endAsync();
  });
});
