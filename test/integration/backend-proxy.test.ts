// Every backend proxy against a real application backend (node:http on loopback) with the public
// `centrifuge` SDK over real WebSockets: the connect proxy authenticates by cookie (no token),
// subscribe/publish/rpc go to the namespace's backend, a publication is rewritten, a slow
// backend times out with the documented reply error and the node stays healthy, a failing one
// answers 100, only idempotent calls are retried, and refresh/sub_refresh run server-side.
import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { type ProxyBackend, startProxyBackend } from './proxy-backend.js';

let backend: ProxyBackend;
let server: RunningServer;
const clients: Centrifuge[] = [];

/** A `ws` WebSocket that sends the browser-like headers an application cookie would ride on. */
function socketWith(headers: Record<string, string>) {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };
}

function client(cookie: string, extraHeaders: Record<string, string> = {}, Sdk: typeof Centrifuge = Centrifuge) {
  const c = new Sdk(`ws://127.0.0.1:${server.port}/connection/websocket`, {
    websocket: socketWith({ cookie, ...extraHeaders }),
    minReconnectDelay: 50,
    maxReconnectDelay: 200,
  });
  clients.push(c);
  return c;
}

function waitFor<T>(emitter: { once(event: string, fn: (ctx: T) => void): unknown }, event: string, ms = 8000) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), ms);
    emitter.once(event, (ctx: T) => {
      clearTimeout(timer);
      resolve(ctx);
    });
  });
}

async function until(check: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  backend = await startProxyBackend();
  const b = backend.url;
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        channels: {
          namespaces: {
            guarded: {},
            feed: {},
            chat: { allowSubscribeForClient: true, historySize: 10, historyTtlMs: 60_000 },
          },
        },
        proxy: {
          connect: { url: `${b}/connect` },
          refresh: { url: `${b}/refresh` },
          rpc: { url: `${b}/rpc` },
          namespaces: {
            guarded: {
              subscribe: { url: `${b}/subscribe` },
              subRefresh: { url: `${b}/sub_refresh` },
              rpc: { url: `${b}/guarded-rpc` },
            },
            chat: { publish: { url: `${b}/publish` } },
          },
          httpHeaders: ['x-session-ttl'],
          cookies: ['session'],
          staticHeaders: { 'x-backend-secret': 'shared-backend-secret' },
          // Generous for a loaded box, still far below the backend's 3 s "slow" answers.
          timeoutMs: 1000,
          retries: 1,
        },
        log: { level: 'silent' },
      },
    }),
    { logger: silentLogger },
  );
});

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await server?.close();
  await backend?.close();
});

describe('backend proxies with the centrifuge SDK', () => {
  it('connect: the backend authenticates the cookie; user, data, info, channels and meta come from it', async () => {
    const c = client('session=alice-session; tracking=do-not-forward');
    const connected = waitFor<{ client: string; data: unknown }>(c, 'connected');
    const serverSub = waitFor<{ channel: string }>(c, 'subscribed');
    c.connect();
    const ctx = await connected;
    expect(ctx.data).toEqual({ greeting: 'hello alice' });
    expect((await serverSub).channel).toBe('feed:alice');
    const call = backend.calls('/connect').find((r) => r.body.client === ctx.client);
    expect(call?.body).toMatchObject({ transport: 'websocket', protocol: 'json', encoding: 'json' });
    // Only the allow-listed cookie leaves the node, with the static header.
    expect(call?.headers.cookie).toBe('session=alice-session');
    expect(call?.headers['x-backend-secret']).toBe('shared-backend-secret');
    // The server-side subscription delivers, and info rides on client publications.
    const sub = c.newSubscription('chat:room');
    const got = waitFor<{ data: unknown; info?: { connInfo?: unknown } }>(sub, 'publication');
    sub.subscribe();
    await waitFor(sub, 'subscribed');
    await sub.publish({ text: 'hi there' });
    const pub = await got;
    // The publish proxy rewrote it and saw the connect proxy's meta.
    expect(pub.data).toEqual({ text: 'HI THERE', by: 'alice', plan: { plan: 'pro' } });
    expect(pub.info?.connInfo).toEqual({ name: 'ALICE' });
  });

  it('connect works for one-way transports too: an SSE stream authenticated by cookie gets its channels', async () => {
    const res = await fetch(`${server.url}/connection/sse`, { headers: { cookie: 'session=alice-session' } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const deadline = Date.now() + 8000;
    // Publish until the stream carries it: the server-side subscription is made by the connect.
    while (!seen.includes('"sse-hello"')) {
      if (Date.now() > deadline) throw new Error(`no publication on the SSE stream: ${seen}`);
      await server.node.publish('feed:alice', new TextEncoder().encode('"sse-hello"'));
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
      ]);
      if (chunk?.done) break;
      if (chunk?.value) seen += decoder.decode(chunk.value, { stream: true });
    }
    await reader.cancel();
    expect(seen).toContain('feed:alice');
    expect(backend.calls('/connect').some((r) => r.body.transport === 'sse')).toBe(true);
  });

  it('connect: a backend refusal reaches the SDK with its code; a backend disconnect closes with its code', async () => {
    // A permanent (non-temporary) connect error: the SDK stops in the disconnected state.
    const nobody = client('session=unknown');
    const refused = waitFor<{ code: number; reason: string }>(nobody, 'disconnected');
    nobody.connect();
    expect(await refused).toMatchObject({ code: 1401, reason: 'please log in' });

    const bob = client('session=bob-session');
    const gone = waitFor<{ code: number; reason: string }>(bob, 'disconnected');
    bob.connect();
    expect(await gone).toMatchObject({ code: 4501, reason: 'bob is banned' });
  });

  it('connect is retried once after a 503 (idempotent); publish and rpc never are', async () => {
    const c = client('session=flaky-session');
    const connected = waitFor<{ client: string }>(c, 'connected');
    c.connect();
    const { client: id } = await connected;
    expect(backend.calls('/connect').filter((r) => r.body.client === id)).toHaveLength(2);

    const before = backend.calls('/rpc').length;
    await expect(c.rpc('fail', {})).rejects.toMatchObject({ code: 100, message: 'backend error' });
    expect(backend.calls('/rpc').length - before).toBe(1);
  });

  it('subscribe: the namespace backend grants with data or refuses with its code; others keep their rules', async () => {
    const c = client('session=alice-session');
    c.connect();
    const own = c.newSubscription('guarded:room#alice');
    const ok = waitFor<{ data: unknown }>(own, 'subscribed');
    own.subscribe();
    expect((await ok).data).toEqual({ welcome: 'guarded:room#alice' });
    const other = c.newSubscription('guarded:room#bob');
    const refused = waitFor<{ code: number }>(other, 'unsubscribed');
    other.subscribe();
    expect((await refused).code).toBe(1403);
    const feed = c.newSubscription('feed:other');
    const denied = waitFor<{ code: number }>(feed, 'unsubscribed');
    feed.subscribe();
    expect((await denied).code).toBe(103);
    expect(backend.calls('/subscribe').some((r) => r.body.channel === 'feed:other')).toBe(false);
  });

  it('publish: a refusal from the backend is the publish error; a failing backend is 100', async () => {
    const c = client('session=alice-session');
    c.connect();
    const sub = c.newSubscription('chat:refusals');
    sub.subscribe();
    await waitFor(sub, 'subscribed');
    await expect(sub.publish({ text: 'buy spam' })).rejects.toMatchObject({ code: 1429, message: 'no spam' });
    await expect(sub.publish({ text: 'fail' })).rejects.toMatchObject({ code: 100, message: 'backend error' });
  });

  it('rpc: the SDK gets the backend answer, by method namespace; JSON and Protobuf', async () => {
    const c = client('session=alice-session');
    c.connect();
    const reply = await c.rpc('sum', { a: 1, b: 2 });
    expect(reply.data).toEqual({ method: 'sum', user: 'alice', echo: { a: 1, b: 2 } });
    expect((await c.rpc('guarded:list', {})).data).toEqual({ namespace: 'guarded', method: 'guarded:list' });

    const p = client('session=alice-session', {}, CentrifugeProtobuf as unknown as typeof Centrifuge);
    p.connect();
    const bytes = await p.rpc('reverse', new Uint8Array([1, 2, 3]));
    expect([...(bytes.data as Uint8Array)]).toEqual([3, 2, 1]);
    const call = backend.calls('/rpc').find((r) => r.body.method === 'reverse');
    expect(call?.body).toMatchObject({ protocol: 'protobuf', encoding: 'binary', b64data: 'AQID' });
  });

  it('a slow backend times out with 100 "backend timeout"; the node stays healthy and serves others', async () => {
    const c = client('session=alice-session');
    c.connect();
    await expect(c.rpc('slow', {})).rejects.toMatchObject({ code: 100, message: 'backend timeout', temporary: true });
    const slowSub = c.newSubscription('guarded:slow');
    const subError = waitFor<{ error: { code: number; message: string } }>(slowSub, 'error');
    slowSub.subscribe();
    expect((await subError).error).toMatchObject({ code: 100, message: 'backend timeout' });
    slowSub.unsubscribe();
    // Same connection, and the node as a whole, carry on.
    expect((await c.rpc('after', {})).data).toMatchObject({ method: 'after' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const other = client('session=alice-session');
    const connected = waitFor(other, 'connected');
    other.connect();
    await connected;
  });

  it('refresh and sub_refresh run server-side when the backend gave an expire_at', async () => {
    const c = client('session=alice-session', { 'x-session-ttl': 'short' });
    const connected = waitFor<{ client: string }>(c, 'connected');
    c.connect();
    const { client: id } = await connected;
    const sub = c.newSubscription('guarded:short');
    sub.subscribe();
    await waitFor(sub, 'subscribed');
    await until(() => backend.calls('/refresh').some((r) => r.body.client === id));
    await until(() => backend.calls('/sub_refresh').some((r) => r.body.channel === 'guarded:short'));
    const refresh = backend.calls('/refresh').find((r) => r.body.client === id);
    expect(refresh?.body).toMatchObject({ user: 'alice', meta: { plan: 'pro' } });
    expect(refresh?.headers['x-session-ttl']).toBe('short');
    // Still connected and subscribed after both expiries passed.
    expect(c.state).toBe('connected');
    expect(sub.state).toBe('subscribed');
  });
});
