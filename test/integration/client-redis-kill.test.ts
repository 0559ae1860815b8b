// @tidings/client across kill -9 on a two-node Redis deployment (issue 13): private Redis (AOF,
// fsync always) and two `tidings serve` nodes under the testkit supervisor. Clients are on node A
// (WebSocket to A first, then B, in fallback order); a publisher posts to the API with
// idempotency keys and retries. Node A is killed with SIGKILL: every client moves to node B and
// resumes from its position. Then Redis itself is killed and restarted: clients recover or get
// an explicit discontinuity. The ledger must find 0 lost, duplicated, reordered, silently
// skipped or forked. Then node A comes back and node B is restarted: the clients move back to A.
// A writer publishing through its outbox all along has each publish stored exactly once.
import { fileURLToPath } from 'node:url';
import { TidingsClient, webSocketTransport } from '@tidings/client';
import { jsonCodec } from '@tidings/protocol';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport, Supervisor } from '@tidings/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { requireBuild } from './cluster-harness.js';
import { requireTool } from './system-tools.js';

const tidingsBin = fileURLToPath(new URL('../../apps/tidings/bin/tidings.js', import.meta.url));
const secret = 'client-redis-kill-secret-0123456789abcdef0123456789';
const apiKey = 'client-redis-kill-api-key-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let supervisor: Supervisor | undefined;
afterAll(() => supervisor?.stopAll());

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  for (let i = 0; i < ms / 50 && !cond(); i++) await sleep(50);
  expect(cond(), what).toBe(true);
}

describe('@tidings/client on two Redis nodes under kill -9', () => {
  it('moves to the other node on kill -9 and on a restart, survives a Redis kill -9; ledger 0 lost, outbox exactly once', async () => {
    requireBuild();
    const sup = new Supervisor({ tidingsBin, redisServer: requireTool('redis-server', 'redis-server') });
    supervisor = sup;
    const redis = await sup.startRedis('redis', { aof: true });
    const config = {
      http: { host: '127.0.0.1', port: 0 },
      engine: { type: 'redis', url: redis.url, prefix: 'client-kill:', connectTimeoutMs: 1000, commandTimeoutMs: 1000 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          feed: {
            historySize: 50_000,
            historyTtlMs: 600_000,
            allowRecovery: true,
            allowSubscribeForClient: true,
            allowPublishForClient: true,
          },
        },
      },
      log: { level: 'warn' },
    };
    const a = await sup.startNode('a', config);
    const b = await sup.startNode('b', config);
    const ledger = createLedger();
    const channels = ['feed:k1', 'feed:k2'];
    const clients: TidingsClient[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `c${i}`;
      const c = new TidingsClient({
        transports: [a, b].map((n) => ({
          ...webSocketTransport({
            url: `ws://127.0.0.1:${n.port}/connection/websocket`,
            codec: jsonCodec,
            WebSocket: WebSocket as never,
          }),
          name: `node-${n.name}`,
        })),
        getToken: () => signToken({ sub: id }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
        backoff: { minDelayMs: 100, maxDelayMs: 500 },
        connectTimeoutMs: 3000,
      });
      const channel = channels[i % channels.length] as string;
      const sub = c.subscribe(channel);
      ledger.subscribed(id, channel);
      sub.on('publication', (p) =>
        ledger.received(id, channel, {
          offset: p.offset ?? 0,
          epoch: sub.position?.epoch ?? '',
          id: (p.data as { id: string }).id,
        }),
      );
      sub.on('discontinuity', (d) => ledger.discontinuity(id, channel, { epoch: d.epoch ?? '', reason: d.reason }));
      c.connect();
      clients.push(c);
    }
    await until(() => clients.every((c) => c.state === 'connected'), 'clients connected to node A');
    expect(clients.map((c) => c.transport)).toEqual(Array(6).fill('node-a'));
    const subscribed = () =>
      clients.every((c, i) => c.subscribe(channels[i % channels.length] as string).state === 'subscribed');
    await until(subscribed, 'clients subscribed');

    // The publisher posts to node B with an idempotency key, retrying until acknowledged.
    let publishing = true;
    let seq = 0;
    let retries = 0;
    let target = b;
    const publisher = (async () => {
      while (publishing) {
        const channel = channels[seq % channels.length] as string;
        const id = `p${seq++}`;
        for (;;) {
          try {
            const res = await fetch(`${target.url}/api/publish`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'idempotency-key': id },
              body: JSON.stringify({ channel, data: { id } }),
              signal: AbortSignal.timeout(3000),
            });
            if (res.status === 200) {
              const body = (await res.json()) as { result: { offset: number; epoch: string } };
              ledger.acked(channel, { offset: body.result.offset, epoch: body.result.epoch, id });
              break;
            }
          } catch {
            // The node or Redis is not reachable right now: retry with the same key, on the other node.
          }
          target = target === b ? a : b;
          retries++;
          await sleep(100);
        }
        await sleep(10);
      }
    })();
    const acked = () => seq;
    // A client publishing through its outbox (idempotency keys) while the faults happen.
    const writer = new TidingsClient({
      transports: [a, b].map((n) => ({
        ...webSocketTransport({
          url: `ws://127.0.0.1:${n.port}/connection/websocket`,
          codec: jsonCodec,
          WebSocket: WebSocket as never,
        }),
        name: `node-${n.name}`,
      })),
      getToken: () => signToken({ sub: 'writer' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
      backoff: { minDelayMs: 100, maxDelayMs: 500 },
      connectTimeoutMs: 3000,
    });
    writer.connect();
    let written = 0;
    const writing = (async () => {
      while (publishing) {
        await writer.publish('feed:writer', { w: written });
        written++;
        await sleep(20);
      }
    })();
    await until(() => acked() > 50, 'publishing');

    // kill -9 of the node every client is on: they move to node B and resume.
    await sup.kill('a');
    // The kill is seen by each client when its socket closes, a moment later: wait for the move
    // itself, not just for "connected" (which is still true on node A right after the signal).
    await until(
      () => clients.every((c) => c.state === 'connected' && c.transport === 'node-b') && subscribed(),
      'clients on node B',
    );
    expect(clients.map((c) => c.transport)).toEqual(Array(6).fill('node-b'));
    const afterMove = acked();
    await until(() => acked() > afterMove + 50, 'publishing after the move');

    // kill -9 of Redis, restarted on its port from its AOF.
    await sup.kill('redis');
    await sleep(1000);
    await sup.restart('redis');
    const afterRedis = acked();
    await until(() => acked() > afterRedis + 50, 'publishing after the Redis restart');

    // Node A comes back; node B (where every client is now) is restarted: they move to A.
    await sup.restart('a');
    await sup.restart('b');
    await until(
      () => clients.every((c) => c.state === 'connected' && c.transport === 'node-a') && subscribed(),
      'clients back on node A',
    );
    const afterRestart = acked();
    await until(() => acked() > afterRestart + 50, 'publishing after the restart');

    // The writer's outbox publishes, sent through every fault above, are each stored once.
    publishing = false;
    await publisher;
    await writing;
    const history = await fetch(`${a.url}/api/history`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ channel: 'feed:writer', limit: 10_000 }),
    });
    const stored = ((await history.json()) as { result: { publications: Array<{ data: { w: number } }> } }).result
      .publications;
    expect(written).toBeGreaterThan(20);
    expect(stored.map((p) => p.data.w)).toEqual(Array.from({ length: written }, (_, i) => i));
    await sleep(2000);
    // Strict: every subscriber was subscribed before the first publish, so it must have all of them.
    const report = ledger.check({ expectAll: true });
    const text = formatLedgerReport(report);
    console.log(`${text}\npublisher retries: ${retries}\n${report.details.join('\n')}`);
    expect(report.lost, text).toBe(0);
    expect(report.duplicated, text).toBe(0);
    expect(report.reordered, text).toBe(0);
    expect(report.silentGaps, text).toBe(0);
    expect(report.offsetForks, text).toBe(0);
    expect(report.acked, text).toBeGreaterThan(150);
    for (const c of [...clients, writer]) c.disconnect();
  }, 120_000);
});
