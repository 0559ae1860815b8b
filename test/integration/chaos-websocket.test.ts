// A real WebSocket client reaching `tidings serve` through the testkit chaos proxy (issue 15):
// torn reads (1-byte slices) and jittered latency in both directions must not change what the
// client sees; a reset in the middle is a clean disconnect, and the node stays ready.
import { startChaosProxy } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const apiKey = 'chaos-ws-api-key-0123456789';
const seed = Number(process.env.CHAOS_SEED ?? 1234);
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        client: { allowAnonymous: true },
        api: { keys: [apiKey] },
        channels: {
          namespaces: { live: { allowSubscribeForAnonymous: true, historySize: 100, historyTtlMs: 60_000 } },
        },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server.close();
});

const publish = (n: number) =>
  fetch(`${server.url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: 'live:chaos', data: { n } }),
  });

describe('WebSocket through the chaos proxy', () => {
  it('1-byte slices both ways and upstream jitter: every publication arrives once, in order', async () => {
    const proxy = await startChaosProxy({
      target: { host: '127.0.0.1', port: server.port },
      seed,
      upstream: { sliceBytes: 1, jitterMs: 3 },
      downstream: { sliceBytes: 1 },
    });
    console.log(proxy.describe());
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/connection/websocket`);
    const seen: number[] = [];
    const replies = new Map<number, Record<string, unknown>>();
    ws.on('message', (data) => {
      for (const line of String(data).split('\n')) {
        if (line === '') continue;
        const msg = JSON.parse(line) as { id?: number; push?: { pub?: { data: { n: number } } } };
        if (msg.id) replies.set(msg.id, msg);
        const n = msg.push?.pub?.data.n;
        if (n !== undefined) seen.push(n);
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 600; i++) {
        if (check()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what} (${proxy.describe()})`);
    };
    ws.send(JSON.stringify({ id: 1, connect: {} }));
    await until(() => replies.has(1), 'the connect reply');
    ws.send(JSON.stringify({ id: 2, subscribe: { channel: 'live:chaos' } }));
    await until(() => replies.has(2), 'the subscribe reply');
    for (let n = 1; n <= 20; n++) expect((await publish(n)).status).toBe(200);
    await until(() => seen.length >= 20, '20 publications');
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));

    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    proxy.resetAll();
    await closed;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await proxy.close();
  }, 60_000);
});
