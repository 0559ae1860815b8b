// State channels against a real server: the public `centrifuge` SDK (JSON and Protobuf) gets the
// snapshot then fossil deltas it decodes itself; an SSE stream (curl -N) gets the snapshot and is
// held to its ?maxRate=; GET /api/state answers with ETag/304; the same on the Redis engine,
// where the documents live in Redis and survive a server restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { signToken } from '@tidings/server';
import { Centrifuge, type Subscription } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const secret = 'state-channels-secret-0123456789abcdef';
const apiKey = 'state-channels-api-key-0123456789';
const prefix = `tidings-state-it:${randomBytes(4).toString('hex')}:`;

// `st` caps subscribers at 50/s; `sd` has no cap, so every update of the delta tests arrives.
// (allowDelta also lets one-way streams ask for ?delta=merge-patch.)
const namespaces = {
  st: { state: true, allowSubscribeForClient: true, allowDelta: true, maxRate: 50 },
  sd: { state: true, allowSubscribeForClient: true, allowDelta: true },
};

function start(engine?: object): Promise<RunningServer> {
  return startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: { namespaces },
        log: { level: 'error' },
        ...(engine === undefined ? {} : { engine }),
      },
    }),
    { logger: silentLogger },
  );
}

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

async function publish(base: string, channel: string, data: unknown, tags?: Record<string, string>) {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data, ...(tags ? { tags } : {}) }),
  });
  const body = (await res.json()) as { result?: { offset: number }; error?: unknown };
  if (body.result === undefined) throw new Error(`publish failed: ${JSON.stringify(body)}`);
  return body.result;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A realistic device document: most of it stays the same between updates. */
const device = (id: number, reading: number) => ({
  id: `device-${id}`,
  model: 'TH-200 temperature and humidity sensor',
  site: { building: 'North', floor: 3, room: `3-${100 + id}` },
  firmware: '4.2.17',
  reading: { temperature: 20 + (reading % 7) / 10, humidity: 40 + (reading % 11), seq: reading },
  alarms: [],
});

const servers: RunningServer[] = [];
const clients: Centrifuge[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const p of children.splice(0)) p.kill('SIGKILL');
});
afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
});

type Sdk = typeof Centrifuge;
const flavours: Array<[string, Sdk]> = [
  ['json', Centrifuge],
  ['protobuf', CentrifugeProtobuf as unknown as Sdk],
];

describe.each(flavours)('state channel with the centrifuge SDK (%s)', (name, Sdk) => {
  const binary = name === 'protobuf';
  const inn = (data: unknown): unknown => (binary ? JSON.parse(new TextDecoder().decode(data as Uint8Array)) : data);

  it('gets the snapshot, then decodes fossil deltas of every update (delta: fossil)', async () => {
    const server = await start();
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    const channel = `sd:dev-${name}`;
    await publish(base, channel, device(1, 0), { key: 'd1' });
    await publish(base, channel, device(2, 0), { key: 'd2' });
    const c = new Sdk(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('alice'),
    });
    clients.push(c);
    c.connect();
    const sub: Subscription = c.newSubscription(channel, { delta: 'fossil' });
    const got: Array<{ data: unknown; tags?: Record<string, string> }> = [];
    sub.on('publication', (ctx) => got.push({ data: inn(ctx.data), ...(ctx.tags ? { tags: ctx.tags } : {}) }));
    sub.subscribe();
    await sub.ready(5000);
    await until(() => got.length === 2);
    expect(got).toEqual([
      { data: device(1, 0), tags: { key: 'd1' } },
      { data: device(2, 0), tags: { key: 'd2' } },
    ]);
    // No rate cap in `sd`: every publication arrives, as a delta.
    for (let i = 1; i <= 20; i++) {
      await publish(base, channel, device(1 + (i % 2), i), { key: `d${1 + (i % 2)}` });
      await new Promise((r) => setTimeout(r, 25));
    }
    await until(() => got.length === 22);
    for (let i = 1; i <= 20; i++) expect(got[1 + i]!.data).toEqual(device(1 + (i % 2), i));
    const stats = sub.deltaStats();
    expect(stats.numDeltaPayloads).toBeGreaterThanOrEqual(19);
    expect(stats.bytesReceived).toBeLessThan(stats.bytesDecoded / 2);
  });
});

describe('state channel over SSE and GET /api/state', () => {
  it('an SSE subscriber gets the snapshot, then at most its ?maxRate= per key, ending on the latest', async () => {
    const server = await start();
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    await publish(base, 'st:sse', { v: 0 }, { key: 'a' });
    const curl = spawn('curl', ['-sN', `${base}/connection/sse?channel=st:sse&maxRate=4&token=${await token('bob')}`]);
    children.push(curl);
    let text = '';
    curl.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const events = () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('data: {"type":"publication"'))
        .map((l) => ({
          at: Date.now(),
          ...(JSON.parse(l.slice(6)) as { data: { v: number }; tags: { key: string } }),
        }));
    await until(() => events().length === 1);
    expect(events()[0]).toMatchObject({ data: { v: 0 }, tags: { key: 'a' } });
    // 100 updates of one key over ~1 s: at 4/s the subscriber sees about 5, the last one last.
    const started = Date.now();
    for (let i = 1; i <= 100; i++) {
      await publish(base, 'st:sse', { v: i }, { key: 'a' });
      await new Promise((r) => setTimeout(r, 10));
    }
    await until(() => events().at(-1)?.data.v === 100, 3000);
    const elapsed = Date.now() - started;
    const live = events().slice(1);
    // At most one send per 250 ms window (+1 for the window open at the start).
    expect(live.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    expect(live.length).toBeLessThan(20);
    const vs = live.map((e) => e.data.v);
    expect([...vs].sort((x, y) => x - y)).toEqual(vs);
  });

  it('an NDJSON stream with ?delta=merge-patch gets whole documents first, then merge patches it can apply', async () => {
    const server = await start();
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    await publish(base, 'sd:mp', device(1, 0), { key: 'd1' });
    const res = await fetch(`${base}/connection/stream?channel=sd:mp&delta=merge-patch&token=${await token('dan')}`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let buffered = '';
    const lines: Array<{ type: string; data?: unknown; delta?: string; tags?: { key: string } }> = [];
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += new TextDecoder().decode(value);
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith('{')) lines.push(JSON.parse(line));
          nl = buffered.indexOf('\n');
        }
      }
    })();
    const pubs = () => lines.filter((l) => l.type === 'publication');
    await until(() => pubs().length === 1);
    for (let i = 1; i <= 5; i++) await publish(base, 'sd:mp', device(1, i), { key: 'd1' });
    await publish(base, 'sd:mp', device(2, 0), { key: 'd2' });
    await until(() => pubs().length === 7);
    await reader.cancel();
    await pump.catch(() => {});
    const { applyMergePatch } = await import('../../packages/server/src/internal/merge-patch.js');
    const docs = new Map<string, unknown>();
    for (const p of pubs()) {
      const key = p.tags!.key;
      docs.set(key, p.delta === 'merge-patch' ? applyMergePatch(docs.get(key) as never, p.data as never) : p.data);
    }
    expect(pubs().map((p) => p.delta ?? 'whole')).toEqual(['whole', ...Array(5).fill('merge-patch'), 'whole']);
    expect(docs.get('d1')).toEqual(device(1, 5));
    expect(docs.get('d2')).toEqual(device(2, 0));
    expect(JSON.stringify(pubs()[1]!.data).length).toBeLessThan(JSON.stringify(device(1, 1)).length / 2);
  });

  it('refuses a stream with a bad ?maxRate= or ?delta= with 400 and code 107', async () => {
    const server = await start();
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    const t = await token('eve');
    for (const q of ['maxRate=0', 'maxRate=abc', 'maxRate=5000', 'delta=fossil']) {
      const res = await fetch(`${base}/connection/stream?channel=st:bad&${q}&token=${t}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(107);
    }
  });

  it('GET /api/state answers documents with an ETag and 304 until the next write', async () => {
    const server = await start();
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    await publish(base, 'st:http', { price: 10 }, { key: 'X' });
    const first = await fetch(`${base}/api/state?channel=st:http&key=X`, { headers: { 'X-API-Key': apiKey } });
    expect(await first.json()).toMatchObject({ key: 'X', offset: 1, data: { price: 10 } });
    const etag = first.headers.get('etag')!;
    const cached = await fetch(`${base}/api/state?channel=st:http&key=X`, {
      headers: { 'X-API-Key': apiKey, 'If-None-Match': etag },
    });
    expect(cached.status).toBe(304);
    await publish(base, 'st:http', { price: 11 }, { key: 'X', patch: 'merge' });
    const fresh = await fetch(`${base}/api/state?channel=st:http&key=X`, {
      headers: { 'X-API-Key': apiKey, 'If-None-Match': etag },
    });
    expect(fresh.status).toBe(200);
    expect(await fresh.json()).toMatchObject({ offset: 2, data: { price: 11 } });
  });
});

describe('state channel on the Redis engine', () => {
  it('keeps the documents in Redis: a restarted server still serves the snapshot', async () => {
    const engine = { type: 'redis', url: 'redis://127.0.0.1:6379', prefix };
    const first = await start(engine);
    const base1 = `http://127.0.0.1:${first.port}`;
    await publish(base1, 'st:r', { a: 1, b: 1 }, { key: 'k' });
    await publish(base1, 'st:r', { b: 2 }, { key: 'k', patch: 'merge' });
    await first.close();
    const second = await start(engine);
    servers.push(second);
    const res = await fetch(`http://127.0.0.1:${second.port}/api/state?channel=st:r`, {
      headers: { 'X-API-Key': apiKey },
    });
    const body = (await res.json()) as { entries: Array<{ key: string; data: unknown; offset: number }> };
    expect(body.entries).toEqual([expect.objectContaining({ key: 'k', offset: 2, data: { a: 1, b: 2 } })]);
    const c = new Centrifuge(`ws://127.0.0.1:${second.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('carol'),
    });
    clients.push(c);
    c.connect();
    const sub = c.newSubscription('st:r');
    const got: unknown[] = [];
    sub.on('publication', (ctx) => got.push(ctx.data));
    sub.subscribe();
    await until(() => got.length === 1);
    expect(got).toEqual([{ a: 1, b: 2 }]);
  });
});

afterAll(() => {
  spawn('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${prefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});
