// `tidings serve` on the NATS JetStream engine: the config/flag wiring, a publish stored in
// JetStream and recovered by the SDK, and /readyz following a private nats-server that goes away
// and comes back while /healthz stays up. The private server runs on its own port in a temp folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@tidings/server';
import { Centrifuge } from 'centrifuge';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { deleteStreams } from '../../packages/nats/src/test-nats.test-helpers.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const secret = 'nats-serve-secret-0123456789abcdef';
const apiKey = 'nats-serve-api-key-0123456789';
const run = randomBytes(4).toString('hex');
const streamName = `TIDINGS_SERVE_${run}`;
const servers: RunningServer[] = [];
const procs: ChildProcess[] = [];

afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  await deleteStreams(streamName);
});

function config(natsServer: string, stream = streamName) {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      engine: {
        type: 'nats',
        servers: [natsServer],
        streamName: stream,
        subjectPrefix: `tidings-test.serve.${run}`,
        connectTimeoutMs: 1000,
        requestTimeoutMs: 1000,
      },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          chat: { historySize: 100, historyTtlMs: 300_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'error' },
    },
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startNats(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn(
    requireTool('nats-server', 'nats-server'),
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    { stdio: 'ignore' },
  );
  procs.push(proc);
  for (let i = 0; i < 100; i++) {
    if (await portOpen(port)) return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('private nats-server did not start');
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const publish = (base: string, channel: string, data: unknown) =>
  fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });

describe('tidings serve with engine: nats', () => {
  it('accepts --engine nats --nats-servers as flags', () => {
    const cfg = loadConfig({
      flags: [
        { path: 'engine.type', value: 'nats', source: '--engine' },
        { path: 'engine.servers', value: '127.0.0.1:4222,127.0.0.1:4223', source: '--nats-servers' },
      ],
    });
    expect(cfg.engine).toMatchObject({ type: 'nats', servers: ['127.0.0.1:4222', '127.0.0.1:4223'] });
  });

  it('stores publications in JetStream, and the SDK recovers what it missed', async () => {
    const server = await startServer(config('127.0.0.1:4222'), { logger: silentLogger });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const client = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await signToken({ sub: 'alice' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    });
    const sub = client.newSubscription('chat:nats', { recoverable: true });
    const got: number[] = [];
    const events: boolean[] = [];
    sub.on('publication', (ctx) => got.push((ctx.data as { n: number }).n));
    sub.on('subscribed', (ctx) => events.push(ctx.recovered));
    try {
      client.connect();
      sub.subscribe();
      await sub.ready(5000);
      expect((await publish(base, 'chat:nats', { n: 1 })).status).toBe(200);
      await until(() => got.length === 1);
      client.disconnect();
      for (let n = 2; n <= 11; n++) expect((await publish(base, 'chat:nats', { n })).status).toBe(200);
      client.connect();
      await until(() => got.length === 11);
      expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(events[1]).toBe(true);
    } finally {
      client.disconnect();
    }
  });

  it('/readyz turns 503 while NATS is gone and 200 when it is back; /healthz stays 200; publishes fail with 503', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tidings-nats-'));
    let nats = await startNats(port, dir);
    const server = await startServer(config(`127.0.0.1:${port}`, `TIDINGS_PRIVATE_${run}`), { logger: silentLogger });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    nats.kill('SIGKILL');
    await until(async () => (await fetch(`${base}/readyz`)).status === 503, 5000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const refused = await publish(base, 'chat:down', { n: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();

    nats = await startNats(port, dir);
    await until(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000);
    await until(async () => (await publish(base, 'chat:down', { n: 2 })).status === 200, 5000);
  });
});
