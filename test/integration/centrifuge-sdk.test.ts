// The public `centrifuge` SDK (v5) against a real Tidings server over real WebSockets, with both
// the JSON and the Protobuf protocol: connect with a token, subscribe, receive what curl
// publishes through /api/publish, publish from the client, presence, history, and recovery after
// a disconnect (exactly the missed publications, checked by the ledger) or after an epoch change.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { Centrifuge, type Subscription } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const run = promisify(execFile);
const secret = 'integration-secret-0123456789abcdef';
const apiKey = 'integration-api-key-0123456789';

const chat = {
  historySize: 200,
  historyTtlMs: 300_000,
  allowRecovery: true,
  presence: true,
  joinLeave: true,
  allowSubscribeForClient: true,
  allowPublishForSubscriber: true,
  allowHistoryForSubscriber: true,
  allowPresenceForSubscriber: true,
};

function config(port = 0) {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: {
        namespaces: { chat, brief: { ...chat, historyTtlMs: 1_000 } },
      },
      log: { level: 'error' },
    },
  });
}

async function start(port = 0): Promise<RunningServer> {
  return startServer(config(port), { logger: silentLogger });
}

const token = (sub: string, ttlSec = 3600) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: ttlSec });

async function curlPublish(base: string, channel: string, data: unknown): Promise<{ offset: number; epoch: string }> {
  const { stdout } = await run('curl', [
    '-sS',
    '-X',
    'POST',
    `${base}/api/publish`,
    '-H',
    `X-API-Key: ${apiKey}`,
    '-H',
    'Content-Type: application/json',
    '-d',
    JSON.stringify({ channel, data }),
  ]);
  const body = JSON.parse(stdout) as { result: { offset: number; epoch: string } };
  return body.result;
}

async function apiPublish(base: string, channel: string, data: unknown) {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { offset: number; epoch: string } }).result;
}

function waitFor<T>(emitter: { once(event: string, fn: (ctx: T) => void): unknown }, event: string, ms = 5000) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (ctx: T) => {
      clearTimeout(timer);
      resolve(ctx);
    });
  });
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Sdk = typeof Centrifuge;
const flavours: Array<[string, Sdk]> = [
  ['json', Centrifuge],
  ['protobuf', CentrifugeProtobuf as unknown as Sdk],
];

describe.each(flavours)('centrifuge SDK over WebSocket (%s)', (name, Sdk) => {
  // The Protobuf SDK carries payloads as bytes; the JSON one as JSON values.
  const binary = name === 'protobuf';
  const out = (value: unknown): unknown => (binary ? new TextEncoder().encode(JSON.stringify(value)) : value);
  const inn = (data: unknown): unknown => (binary ? JSON.parse(new TextDecoder().decode(data as Uint8Array)) : data);
  let server: RunningServer;
  const clients: Centrifuge[] = [];

  const client = async (user: string, extra: object = {}) => {
    const c = new Sdk(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token(user),
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      ...extra,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await server.close();
  });

  it('connects with a token, subscribes and receives a publication sent with curl', async () => {
    const c = await client('alice');
    const connected = waitFor<{ client: string }>(c, 'connected');
    c.connect();
    expect((await connected).client).toMatch(/[0-9a-f-]{36}/);
    const sub = c.newSubscription('chat:curl');
    const subscribed = waitFor(sub, 'subscribed');
    sub.subscribe();
    await subscribed;
    const received = waitFor<{ data: unknown; offset?: number }>(sub, 'publication');
    const ack = await curlPublish(`http://127.0.0.1:${server.port}`, 'chat:curl', { text: 'hello from curl' });
    const pub = await received;
    expect(inn(pub.data)).toEqual({ text: 'hello from curl' });
    expect(ack.offset).toBe(1);
  });

  it('publishes from the client where the namespace allows it, and is refused where not', async () => {
    const a = await client('alice');
    const b = await client('bob');
    a.connect();
    b.connect();
    const subA = a.newSubscription('chat:talk');
    const subB = b.newSubscription('chat:talk');
    subA.subscribe();
    subB.subscribe();
    await Promise.all([subA.ready(5000), subB.ready(5000)]);
    const received = waitFor<{ data: unknown; info?: { user: string } }>(subB, 'publication');
    await subA.publish(out({ text: 'hi bob' }));
    const pub = await received;
    expect(inn(pub.data)).toEqual({ text: 'hi bob' });
    expect(pub.info?.user).toBe('alice');
    // Not subscribed to chat:other: publishing there is denied (103).
    await expect(a.publish('chat:other', out({ x: 1 }))).rejects.toMatchObject({ code: 103 });
    // Unknown namespace: 102.
    await expect(a.publish('nope:x', out({ x: 1 }))).rejects.toMatchObject({ code: 102 });
  });

  it('reports presence and presence stats, and join/leave', async () => {
    const a = await client('alice');
    const b = await client('bob');
    a.connect();
    const subA = a.newSubscription('chat:presence', { joinLeave: true });
    subA.subscribe();
    await subA.ready(5000);
    const joined = waitFor<{ info: { user: string } }>(subA, 'join');
    b.connect();
    const subB = b.newSubscription('chat:presence');
    subB.subscribe();
    await subB.ready(5000);
    expect((await joined).info.user).toBe('bob');
    const presence = await subA.presence();
    expect(
      Object.values(presence.clients)
        .map((c) => c.user)
        .sort(),
    ).toEqual(['alice', 'bob']);
    expect(await subA.presenceStats()).toEqual({ numClients: 2, numUsers: 2 });
    const left = waitFor<{ info: { user: string } }>(subA, 'leave');
    subB.unsubscribe();
    expect((await left).info.user).toBe('bob');
  });

  it('reads history', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    for (let i = 1; i <= 5; i++) await apiPublish(base, 'chat:history', { n: i });
    const c = await client('alice');
    c.connect();
    const sub = c.newSubscription('chat:history');
    sub.subscribe();
    await sub.ready(5000);
    const h = await sub.history({ limit: 3, reverse: true });
    expect(h.publications.map((p) => inn(p.data))).toEqual([{ n: 5 }, { n: 4 }, { n: 3 }]);
    expect(h.offset).toBe(5);
    const all = await sub.history({ limit: -1 });
    expect(all.publications.map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
  });

  it('recovers exactly the 50 publications missed while disconnected, in order', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const channel = 'chat:recover';
    const ledger = createLedger();
    const c = await client('alice');
    const sub = c.newSubscription(channel, { recoverable: true });
    ledger.subscribed('alice', channel);
    let epoch = '';
    const subscribedEvents: Array<{ wasRecovering: boolean; recovered: boolean }> = [];
    sub.on('subscribed', (ctx) => {
      subscribedEvents.push({ wasRecovering: ctx.wasRecovering, recovered: ctx.recovered });
      epoch = ctx.streamPosition?.epoch ?? epoch;
    });
    sub.on('publication', (ctx) => {
      const data = inn(ctx.data) as { id: string };
      ledger.received('alice', channel, { offset: ctx.offset ?? -1, epoch, id: data.id });
    });
    c.connect();
    sub.subscribe();
    await sub.ready(5000);
    const publish = async (id: string) => {
      const ack = await apiPublish(base, channel, { id });
      ledger.acked(channel, { offset: ack.offset, epoch: ack.epoch, id });
    };
    for (let i = 0; i < 10; i++) await publish(`before-${i}`);
    await until(() => ledger.check().perSubscriber.alice?.received === 10);

    c.disconnect();
    for (let i = 0; i < 50; i++) await publish(`missed-${i}`);
    c.connect();
    await until(() => subscribedEvents.length === 2);
    await until(() => (ledger.check().perSubscriber.alice?.received ?? 0) >= 60);
    expect(subscribedEvents[1]).toEqual({ wasRecovering: true, recovered: true });

    const report = ledger.check({ expectAll: true });
    expect(report.lost, formatLedgerReport(report)).toBe(0);
    expect(report.duplicated, formatLedgerReport(report)).toBe(0);
    expect(report.reordered, formatLedgerReport(report)).toBe(0);
    expect(report.silentGaps, formatLedgerReport(report)).toBe(0);
    expect(report.offsetForks, formatLedgerReport(report)).toBe(0);
  });

  it('reports recovered: false after the missed publications expired from history', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const c = await client('alice');
    const sub: Subscription = c.newSubscription('brief:expire', { recoverable: true });
    const events: Array<{ wasRecovering: boolean; recovered: boolean }> = [];
    sub.on('subscribed', (ctx) => events.push({ wasRecovering: ctx.wasRecovering, recovered: ctx.recovered }));
    c.connect();
    sub.subscribe();
    await sub.ready(5000);
    await apiPublish(base, 'brief:expire', { n: 1 });
    await until(() => sub.state === 'subscribed');
    c.disconnect();
    await apiPublish(base, 'brief:expire', { n: 2 });
    await new Promise((r) => setTimeout(r, 1_300)); // namespace historyTtlMs is 1 s
    c.connect();
    await until(() => events.length === 2);
    expect(events[1]).toEqual({ wasRecovering: true, recovered: false });
  });
});

describe('epoch change', () => {
  it('a client resuming against a restarted memory engine gets recovered: false, never a silent skip', async () => {
    let server = await start();
    const port = server.port;
    const c = new Centrifuge(`ws://127.0.0.1:${port}/connection/websocket`, {
      websocket: WebSocket,
      token: await token('alice'),
      minReconnectDelay: 50,
      maxReconnectDelay: 200,
    });
    const sub = c.newSubscription('chat:epoch', { recoverable: true });
    const events: Array<{ recovered: boolean; wasRecovering: boolean; epoch?: string }> = [];
    sub.on('subscribed', (ctx) =>
      events.push({ recovered: ctx.recovered, wasRecovering: ctx.wasRecovering, epoch: ctx.streamPosition?.epoch }),
    );
    try {
      c.connect();
      sub.subscribe();
      await sub.ready(5000);
      await apiPublish(`http://127.0.0.1:${port}`, 'chat:epoch', { n: 1 });
      await server.close();
      server = await start(port); // same port, fresh memory engine: a new epoch
      await until(() => events.length === 2, 10_000);
      expect(events[1]?.wasRecovering).toBe(true);
      expect(events[1]?.recovered).toBe(false);
      expect(events[1]?.epoch).not.toBe(events[0]?.epoch);
    } finally {
      c.disconnect();
      await server.close();
    }
  });
});

describe('token refresh and subscription tokens (centrifuge SDK, JSON)', () => {
  let server: RunningServer;
  const clients: Centrifuge[] = [];
  beforeAll(async () => {
    const cfg = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        client: { expiredCloseDelayMs: 1_500 },
        channels: { namespaces: { secure: { presence: true, allowPresenceForSubscriber: true } } },
        log: { level: 'error' },
      },
    });
    server = await startServer(cfg, { logger: silentLogger });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await server.close();
  });
  const make = (opts: object) => {
    const c = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, {
      websocket: WebSocket,
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
      ...opts,
    });
    clients.push(c);
    return c;
  };

  it('keeps a connection whose SDK refreshes its short-lived token; the server closes one that does not (3005)', async () => {
    let refreshed = 0;
    const refreshing = make({
      token: await token('alice', 2),
      getToken: async () => {
        refreshed++;
        return token('alice', 3600);
      },
    });
    const drops: number[] = [];
    refreshing.on('connecting', (ctx) => drops.push(ctx.code));
    refreshing.connect();
    await refreshing.ready(5000);
    // A raw client that never sends `refresh`: the server closes it after expiry + grace.
    const rawToken = await token('bob', 2);
    const raw = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    const closed = new Promise<number>((resolve) => raw.on('close', (code) => resolve(code)));
    raw.on('open', () => raw.send(JSON.stringify({ id: 1, connect: { token: rawToken } })));
    expect(await closed).toBe(3005);
    await new Promise((r) => setTimeout(r, 500));
    expect(refreshed).toBeGreaterThanOrEqual(1);
    expect(refreshing.state).toBe('connected');
    expect(drops.filter((c) => c >= 3000)).toEqual([]);
  });

  it('subscribes to a protected channel only with a matching subscription token', async () => {
    const c = make({ token: await token('alice') });
    c.connect();
    await c.ready(5000);
    const errors: number[] = [];
    const denied = c.newSubscription('secure:vault');
    // A permanent subscribe error moves the SDK subscription to unsubscribed with that code.
    denied.on('unsubscribed', (ctx) => errors.push(ctx.code));
    denied.subscribe();
    await until(() => errors.includes(103));
    c.removeSubscription(denied);

    const subToken = await signToken(
      { sub: 'alice', channel: 'secure:vault' },
      { alg: 'HS256', secret },
      { expiresInSec: 600 },
    );
    const allowed = c.newSubscription('secure:vault', { token: subToken });
    allowed.subscribe();
    await allowed.ready(5000);
    expect(await allowed.presenceStats()).toEqual({ numClients: 1, numUsers: 1 });

    const wrongErrors: number[] = [];
    const otherToken = await signToken(
      { sub: 'alice', channel: 'secure:other' },
      { alg: 'HS256', secret },
      { expiresInSec: 600 },
    );
    const wrong = c.newSubscription('secure:elsewhere', { token: otherToken });
    wrong.on('unsubscribed', (ctx) => wrongErrors.push(ctx.code));
    wrong.subscribe();
    await until(() => wrongErrors.includes(103));
  });
});
