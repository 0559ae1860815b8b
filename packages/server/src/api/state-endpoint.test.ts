import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/jwt-authenticator.js';
import { createMemoryEngine } from '../broker/memory/memory-engine.js';
import type { StateStore } from '../broker/types.js';
import { createNode } from '../core/node.js';
import { createApiHandler } from './api-handler.js';

const apiKey = 'test-api-key-0123456789';
const enc = new TextEncoder();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function start(opts: { state?: (s: StateStore) => StateStore; maxAge?: number } = {}) {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    state: opts.state ? opts.state(engine.state) : engine.state,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { st: { state: true }, plain: {} } },
  });
  await node.start();
  const handler = createApiHandler(node, {
    apiKeys: [apiKey],
    ...(opts.maxAge === undefined ? {} : { stateMaxAgeSec: opts.maxAge }),
  });
  const server: Server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    await node.shutdown();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const get = (query: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${url}/api/state?${query}`, { method, headers: { 'X-API-Key': apiKey, ...headers } });
  const publish = (channel: string, doc: unknown, tags?: Record<string, string>) =>
    node.publish(channel, enc.encode(JSON.stringify(doc)), tags ? { tags } : {});
  return { url, get, publish };
}

describe('GET /api/state', () => {
  it('answers one key or every key, with an ETag that changes with each write and 304 on a match', async () => {
    const h = await start();
    await h.publish('st:p', { bid: 1 }, { key: 'A' });
    await h.publish('st:p', { bid: 2 }, { key: 'B' });
    const one = await h.get('channel=st:p&key=A');
    expect(one.status).toBe(200);
    expect(one.headers.get('cache-control')).toBe('public, no-cache');
    expect(await one.json()).toEqual({
      channel: 'st:p',
      key: 'A',
      offset: 1,
      epoch: expect.any(String),
      time: expect.any(Number),
      data: { bid: 1 },
    });
    const all = await h.get('channel=st:p');
    const body = (await all.json()) as { entries: Array<{ key: string; data: unknown }> };
    expect(body.entries.map((e) => [e.key, e.data])).toEqual([
      ['A', { bid: 1 }],
      ['B', { bid: 2 }],
    ]);
    const etag = all.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);

    const again = await h.get('channel=st:p', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    expect((await h.get('channel=st:p', { 'If-None-Match': `"x", W/${etag}` })).status).toBe(304);

    await h.publish('st:p', { bid: 3 }, { key: 'B', patch: 'merge' });
    const changed = await h.get('channel=st:p', { 'If-None-Match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    // The key A validator did not change: a poller of key A still gets 304.
    const aTag = one.headers.get('etag')!;
    expect((await h.get('channel=st:p&key=A', { 'If-None-Match': aTag })).status).toBe(304);
  });

  it('HEAD answers headers only; max-age when configured', async () => {
    const h = await start({ maxAge: 5 });
    await h.publish('st:h', { v: 1 });
    const head = await h.get('channel=st:h&key=', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('public, max-age=5');
    expect(await head.text()).toBe('');
  });

  it('refuses bad requests with stable codes', async () => {
    const h = await start();
    const bad = await h.get('');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(107);
    expect((await h.get('channel=st:a&key=1&key=2')).status).toBe(400);
    const notState = await h.get('channel=plain:a');
    expect(notState.status).toBe(404);
    expect(((await notState.json()) as { error: { code: number } }).error.code).toBe(108);
    expect((await h.get('channel=nons:a')).status).toBe(404);
    const noKey = await h.get('channel=st:a&key=zz');
    expect(noKey.status).toBe(404);
    expect(((await noKey.json()) as { error: { code: number } }).error.code).toBe(102);
    expect((await fetch(`${h.url}/api/state?channel=st:a`)).status).toBe(401);
    expect((await fetch(`${h.url}/api/state?channel=st:a`, { method: 'POST' })).status).toBe(405);
  });

  it('503 with Retry-After when the state store is unreachable', async () => {
    const h = await start({
      state: (s) => ({
        ...s,
        put: s.put.bind(s),
        get: s.get.bind(s),
        remove: s.remove.bind(s),
        close: s.close.bind(s),
        snapshot: async () => {
          throw new Error('connection refused');
        },
      }),
    });
    const res = await h.get('channel=st:a');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });
});
