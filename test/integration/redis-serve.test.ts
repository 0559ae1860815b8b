// `tidings serve` on the Redis engine: the config/flag wiring, a publish stored in Redis and
// recovered by the SDK, and /readyz following a private Redis that goes away and comes back
// while /healthz stays up. The private Redis runs on its own port in a temp folder.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@tidings/server';
import { Centrifuge } from 'centrifuge';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const secret = 'redis-serve-secret-0123456789abcdef';
const apiKey = 'redis-serve-api-key-0123456789';
const prefix = `tidings-test:${randomBytes(6).toString('hex')}:`;
const servers: RunningServer[] = [];
const redisProcs: ChildProcess[] = [];

afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const p of redisProcs.splice(0)) p.kill('SIGKILL');
  // Remove what the shared-Redis test wrote under its private prefix.
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

function config(url: string) {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      engine: { type: 'redis', url, prefix, connectTimeoutMs: 1000, commandTimeoutMs: 500 },
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

async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const proc = spawn(
    requireTool('redis-server', 'redis-server'),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  redisProcs.push(proc);
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
    )
      return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('private redis-server did not start');
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

describe('tidings serve with engine: redis', () => {
  it('accepts --engine redis --redis-url as flags', () => {
    const cfg = loadConfig({
      flags: [
        { path: 'engine.type', value: 'redis', source: '--engine' },
        { path: 'engine.url', value: 'redis://127.0.0.1:6390', source: '--redis-url' },
      ],
    });
    expect(cfg.engine).toMatchObject({ type: 'redis', url: 'redis://127.0.0.1:6390', prefix: 'tidings:' });
    expect(() => loadConfig({ flags: [{ path: 'engine.type', value: 'oracle', source: '--engine' }] })).toThrow(
      /engine/,
    );
  });

  it('stores publications in Redis, and the SDK recovers what it missed', async () => {
    const server = await startServer(config('redis://127.0.0.1:6379'), { logger: silentLogger });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const client = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await signToken({ sub: 'alice' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    });
    const sub = client.newSubscription('chat:redis', { recoverable: true });
    const got: number[] = [];
    const events: boolean[] = [];
    sub.on('publication', (ctx) => got.push((ctx.data as { n: number }).n));
    sub.on('subscribed', (ctx) => events.push(ctx.recovered));
    try {
      client.connect();
      sub.subscribe();
      await sub.ready(5000);
      expect((await publish(base, 'chat:redis', { n: 1 })).status).toBe(200);
      await until(() => got.length === 1);
      client.disconnect();
      for (let n = 2; n <= 11; n++) expect((await publish(base, 'chat:redis', { n })).status).toBe(200);
      client.connect();
      await until(() => got.length === 11);
      expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(events[1]).toBe(true);
      // The history is in Redis under the configured prefix.
      const keys = spawnSync('redis-cli', ['-p', '6379', '--scan', '--pattern', `${prefix}*`]).stdout.toString();
      expect(keys).toContain('chat:redis');
    } finally {
      client.disconnect();
    }
  });

  it('/readyz turns 503 while Redis is gone and 200 when it is back; /healthz stays 200; publishes fail with 503', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tidings-redis-'));
    let redis = await startRedis(port, dir);
    const server = await startServer(config(`redis://127.0.0.1:${port}`), { logger: silentLogger });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    redis.kill('SIGKILL');
    await until(async () => (await fetch(`${base}/readyz`)).status === 503, 5000);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const refused = await publish(base, 'chat:down', { n: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();

    redis = await startRedis(port, dir);
    await until(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000);
    expect((await publish(base, 'chat:down', { n: 2 })).status).toBe(200);
  });
});
