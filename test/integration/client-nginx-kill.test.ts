// @tidings/client behind the nginx of deploy/nginx.conf in front of two `tidings serve` nodes on a
// private Redis (AOF, fsync always), as docs/deploy.md sets it up (issue 13). The clients know one
// URL, nginx's; nginx spreads them over the nodes (least_conn). Node A is killed with SIGKILL,
// then, once it is back, node B: every client's node dies at least once, and each reconnects
// through nginx to the surviving node and resumes from its position. A publisher posts through
// nginx with idempotency keys and retries. The ledger (strict) must find 0 lost, duplicated,
// reordered, silently skipped or forked.
import { fileURLToPath } from 'node:url';
import { TidingsClient, webSocketTransport } from '@tidings/client';
import { jsonCodec } from '@tidings/protocol';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport, Supervisor } from '@tidings/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { requireBuild } from './cluster-harness.js';
import { type ProxyProcess, startNginx } from './proxy-processes.js';
import { requireTool } from './system-tools.js';

const tidingsBin = fileURLToPath(new URL('../../apps/tidings/bin/tidings.js', import.meta.url));
const secret = 'client-nginx-kill-secret-0123456789abcdef0123456789';
const apiKey = 'client-nginx-kill-api-key-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let supervisor: Supervisor | undefined;
let nginx: ProxyProcess | undefined;
afterAll(async () => {
  await nginx?.stop();
  supervisor?.stopAll();
});

async function until(cond: () => boolean, what: string, ms = 40_000): Promise<void> {
  for (let i = 0; i < ms / 50 && !cond(); i++) await sleep(50);
  expect(cond(), what).toBe(true);
}

describe('@tidings/client through deploy/nginx.conf, two Redis nodes under kill -9', () => {
  it('every client survives the kill of its node, reconnecting through nginx; ledger 0 lost', async () => {
    requireBuild();
    requireTool('nginx', 'nginx');
    const sup = new Supervisor({ tidingsBin, redisServer: requireTool('redis-server', 'redis-server') });
    supervisor = sup;
    const redis = await sup.startRedis('redis', { aof: true });
    const config = {
      http: { host: '127.0.0.1', port: 0 },
      engine: {
        type: 'redis',
        url: redis.url,
        prefix: 'client-nginx:',
        connectTimeoutMs: 1000,
        commandTimeoutMs: 1000,
      },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          feed: { historySize: 50_000, historyTtlMs: 600_000, allowRecovery: true, allowSubscribeForClient: true },
        },
      },
      log: { level: 'warn' },
    };
    const a = await sup.startNode('a', config);
    const b = await sup.startNode('b', config);
    nginx = await startNginx([a.port, b.port]);
    const base = `http://127.0.0.1:${nginx.port}`;
    const ledger = createLedger();
    const channels = ['feed:n1', 'feed:n2'];
    const clients: TidingsClient[] = [];
    const connections: number[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `c${i}`;
      const c = new TidingsClient({
        transports: [
          webSocketTransport({
            url: `${base.replace('http', 'ws')}/connection/websocket`,
            codec: jsonCodec,
            WebSocket: WebSocket as never,
          }),
        ],
        getToken: () => signToken({ sub: id }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
        backoff: { minDelayMs: 100, maxDelayMs: 500 },
        connectTimeoutMs: 3000,
      });
      connections.push(0);
      c.on('state', (e) => {
        if (e.state === 'connected') connections[i] = (connections[i] ?? 0) + 1;
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
    const subscribed = () =>
      clients.every(
        (c, i) =>
          c.state === 'connected' && c.subscribe(channels[i % channels.length] as string).state === 'subscribed',
      );
    await until(subscribed, 'clients subscribed through nginx');

    let publishing = true;
    let seq = 0;
    let retries = 0;
    const publisher = (async () => {
      while (publishing) {
        const channel = channels[seq % channels.length] as string;
        const id = `p${seq++}`;
        for (;;) {
          try {
            const res = await fetch(`${base}/api/publish`, {
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
            // nginx had no node to give (or the node died mid-request): retry with the same key.
          }
          retries++;
          await sleep(100);
        }
        await sleep(10);
      }
    })();
    const acked = () => seq;
    await until(() => acked() > 50, 'publishing');

    await sup.kill('a');
    const afterA = acked();
    await until(() => acked() > afterA + 50 && subscribed(), 'clients resubscribed after node A died');
    await sup.restart('a');
    await sleep(500);
    await sup.kill('b');
    const afterB = acked();
    await until(() => acked() > afterB + 50 && subscribed(), 'clients resubscribed after node B died');

    publishing = false;
    await publisher;
    await sleep(2000);
    // Every client was on A or on B, so each has connected at least twice.
    expect(
      connections.every((n) => n >= 2),
      `connections per client: ${connections.join(',')}`,
    ).toBe(true);
    const report = ledger.check({ expectAll: true });
    const text = formatLedgerReport(report);
    console.log(`${text}\npublisher retries: ${retries}; connections per client: ${connections.join(',')}`);
    expect(report.lost, text).toBe(0);
    expect(report.duplicated, text).toBe(0);
    expect(report.reordered, text).toBe(0);
    expect(report.silentGaps, text).toBe(0);
    expect(report.offsetForks, text).toBe(0);
    expect(report.acked, text).toBeGreaterThan(150);
    for (const c of clients) c.disconnect();
  }, 150_000);
});
