// MQTT wildcard subscriptions against `tidings serve` on every engine: mosquitto_sub with
// `sensors/#` (-q 1) and MQTT.js with `sensors/+/temp` on node A receive exactly the matching
// channels of what /api/publish and mosquitto_pub sent through node B, byte for byte — nothing
// from another namespace or from a namespace clients may not subscribe to. Memory (one node),
// `--workers 2` (the built CLI), Redis and NATS (two nodes each).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '@tidings/server';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { deleteStreams } from '../../packages/nats/src/test-nats.test-helpers.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { freePort, requireBuild } from './cluster-harness.js';
import { requireTool } from './system-tools.js';

const secret = 'mqtt-wildcard-secret-0123456789abcdef';
const apiKey = 'mqtt-wildcard-api-key-0123456789';
const run = randomBytes(4).toString('hex');
const redisPrefix = `tidings-test-mqttw:${run}:`;
const natsStream = `TIDINGS_MQTTW_${run}`;
const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

const namespaces = {
  sensors: {
    historySize: 100,
    historyTtlMs: 300_000,
    allowRecovery: true,
    allowSubscribeForClient: true,
    allowPublishForClient: true,
  },
  priv: { historySize: 100, historyTtlMs: 300_000 },
  other: { allowSubscribeForClient: true },
};

interface Endpoint {
  readonly http: string;
  readonly mqttPort: number;
}

const servers: RunningServer[] = [];
const procs: ChildProcess[] = [];
const dirs: string[] = [];
const clients: MqttClient[] = [];

afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const p of procs) p.kill('SIGKILL');
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${redisPrefix}*' | xargs -r redis-cli -p 6379 unlink`]);
  await deleteStreams(natsStream);
});

function base(engine: Record<string, unknown>, mqttPort = 0) {
  return {
    http: { host: '127.0.0.1', port: 0 },
    engine,
    auth: { keys: [{ alg: 'HS256', secret }] },
    api: { keys: [apiKey] },
    channels: { namespaces },
    mqtt: { enabled: true, port: mqttPort, host: '127.0.0.1' },
    log: { level: 'error' },
  };
}

async function inProcess(engine: Record<string, unknown>): Promise<Endpoint> {
  const server = await startServer(loadConfig({ base: base(engine) }), { logger: silentLogger });
  servers.push(server);
  return { http: server.url, mqttPort: server.mqtt?.port ?? 0 };
}

async function workers(): Promise<Endpoint> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-mqttw-'));
  dirs.push(dir);
  const mqttPort = await freePort();
  const file = join(dir, 'tidings.json');
  writeFileSync(file, JSON.stringify({ ...base({ type: 'memory' }, mqttPort), log: { level: 'info' } }));
  const bin = fileURLToPath(new URL('../../apps/tidings/bin/tidings.js', import.meta.url));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
  const proc = spawn(process.execPath, [bin, 'serve', '--workers', '2', '--config', file, '--port', '0'], {
    env: { ...env, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; url?: string })
      .find((l) => l.msg === 'listening' && l.url !== undefined);
    if (line?.url !== undefined) return { http: line.url, mqttPort };
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no listening line\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const engines: Array<[string, () => Promise<[Endpoint, Endpoint]>]> = [
  [
    'memory',
    async () => {
      const a = await inProcess({ type: 'memory' });
      return [a, a];
    },
  ],
  [
    '--workers 2',
    async () => {
      const a = await workers();
      return [a, a];
    },
  ],
  [
    'redis, two nodes',
    async () => {
      const engine = { type: 'redis', url: 'redis://127.0.0.1:6379', prefix: redisPrefix };
      return [await inProcess(engine), await inProcess(engine)];
    },
  ],
  [
    'nats, two nodes',
    async () => {
      const engine = {
        type: 'nats',
        servers: ['127.0.0.1:4222'],
        streamName: natsStream,
        subjectPrefix: `tidings-test.mqttw.${run}`,
      };
      return [await inProcess(engine), await inProcess(engine)];
    },
  ],
];

async function apiPublish(at: Endpoint, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${at.http}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

/** mosquitto_sub printing `topic payload-hex` lines. */
async function mosquittoSub(at: Endpoint, filter: string): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  const child = spawn('mosquitto_sub', [
    ...['-h', '127.0.0.1', '-p', String(at.mqttPort), '-V', 'mqttv5', '-q', '1', '-t', filter],
    ...['-u', 'sub', '-P', await token('sub'), '-F', '%t %x'],
  ]);
  procs.push(child);
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { lines };
}

async function mqttJs(at: Endpoint, filter: string): Promise<Array<[string, string]>> {
  const got: Array<[string, string]> = [];
  const c = mqtt.connect(`mqtt://127.0.0.1:${at.mqttPort}`, {
    protocolVersion: 4,
    username: 'js',
    password: await token('js'),
    reconnectPeriod: 0,
  });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  c.on('message', (topic, payload) => got.push([topic, payload.toString('hex')]));
  await c.subscribeAsync(filter, { qos: 1 });
  return got;
}

/** Publishes `marker` through `at` until every receiver saw it (subscriptions are then live everywhere). */
async function markUntilSeen(at: Endpoint, channel: string, marker: string, seen: Array<() => boolean>) {
  const deadline = Date.now() + 20_000;
  while (!seen.every((s) => s())) {
    if (Date.now() > deadline) throw new Error(`marker ${marker} not received`);
    await apiPublish(at, channel, { marker });
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hex = (text: string) => Buffer.from(text).toString('hex');
const isMarker = (payloadHex: string) => Buffer.from(payloadHex, 'hex').toString().includes('"marker"');

describe.each(engines)('MQTT wildcards on %s', (_name, start) => {
  it('node A receives exactly the matching channels of what node B published', { timeout: 60_000 }, async () => {
    requireTool('mosquitto_sub', 'mosquitto-clients');
    const [a, b] = await start();
    const sub = await mosquittoSub(a, 'sensors/#');
    const js = await mqttJs(a, 'sensors/+/temp');
    const subSaw = (m: string) => () => sub.lines.some((l) => l.endsWith(hex(JSON.stringify({ marker: m }))));
    const jsSaw = (m: string) => () => js.some(([, p]) => p === hex(JSON.stringify({ marker: m })));
    await markUntilSeen(b, 'sensors:ready/temp', 'ready', [subSaw('ready'), jsSaw('ready')]);

    await apiPublish(b, 'sensors:dock-1/temp', { t: 21.5 });
    await apiPublish(b, 'sensors:dock-2/humidity', { h: 40 });
    await apiPublish(b, 'priv:dock-1/temp', { secret: true });
    await apiPublish(b, 'other:dock-1/temp', { elsewhere: true });
    // Not spawnSync: the in-process nodes must keep running while it waits for its PUBACK.
    const pub = spawn('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(b.mqttPort), '-V', 'mqttv311', '-q', '1'],
      ...['-t', 'sensors/dock-3/temp', '-m', 'raw 22.0', '-u', 'pub', '-P', await token('pub')],
    ]);
    expect(await new Promise((resolve) => pub.once('exit', resolve))).toBe(0);
    await markUntilSeen(b, 'sensors:zz/temp', 'end', [subSaw('end'), jsSaw('end')]);

    expect(sub.lines.filter((l) => !isMarker(l.split(' ')[1] ?? ''))).toEqual([
      `sensors/dock-1/temp ${hex('{"t":21.5}')}`,
      `sensors/dock-2/humidity ${hex('{"h":40}')}`,
      `sensors/dock-3/temp ${hex('raw 22.0')}`,
    ]);
    expect(js.filter(([, p]) => !isMarker(p))).toEqual([
      ['sensors/dock-1/temp', hex('{"t":21.5}')],
      ['sensors/dock-3/temp', hex('raw 22.0')],
    ]);
  });
});
