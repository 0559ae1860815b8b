// Regression: a Redis paused with SIGSTOP keeps its TCP connections open, so node-redis kept
// reporting the connections ready and /readyz stayed 200 for as long as the pause lasted. The
// keep-alive PING is now bounded by the command timeout and a missed reply marks the connection
// stalled. Runs a private redis-server (never the shared one: it is paused here).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, utf8, waitFor } from '@tidings/testkit';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from './redis-engine.js';

let redis: ChildProcess | undefined;
let engine: RedisEngine | undefined;

afterAll(async () => {
  await engine?.close();
  redis?.kill('SIGCONT');
  redis?.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-paused-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir], {
    stdio: 'ignore',
  });
  const probe = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: 50 } });
  probe.on('error', () => undefined);
  try {
    await Promise.race([
      probe.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('private redis-server did not start')), 5000)),
    ]);
  } finally {
    probe.destroy();
  }
  return proc;
}

describe('RedisBroker on a paused Redis (SIGSTOP)', () => {
  it('turns not ready within ping interval + command timeout, fails publishes fast, and is ready after SIGCONT', async () => {
    const port = await freePort();
    redis = await startPrivateRedis(port);
    engine = createRedisEngine({
      url: `redis://127.0.0.1:${port}`,
      commandTimeoutMs: 300,
      pingIntervalMs: 200,
      connectTimeoutMs: 1000,
    });
    const events = new EventRecorder();
    await engine.broker.start(events);
    await engine.broker.subscribe(['ch']);
    const retain = { history: { size: 10, ttlMs: 60_000 } };
    await engine.broker.publish('ch', utf8('before'), retain);
    expect(engine.broker.ready()).toBe(true);

    redis.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(() => !engine?.broker.ready(), 2000, 'not ready while Redis is paused');
    expect(Date.now() - stoppedAt).toBeLessThan(1000);
    const t0 = Date.now();
    const err = await engine.broker.publish('ch', utf8('during'), retain).then(
      () => 'acknowledged',
      (e: unknown) => e,
    );
    expect(isTidingsError(err) ? err.code : err).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(100); // fails fast: nothing queued to run unacknowledged later

    redis.kill('SIGCONT');
    await waitFor(() => engine?.broker.ready() === true, 2000, 'ready again after SIGCONT');
    const after = await engine.broker.publish('ch', utf8('after'), retain);
    expect(after.offset).toBe(2);
    await waitFor(() => events.of('ch').length === 2, 2000, 'delivery after the pause');
  });
});
