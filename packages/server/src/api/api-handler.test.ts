import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/jwt-authenticator.js';
import { createMemoryEngine } from '../broker/memory/memory-engine.js';
import type { Broker } from '../broker/types.js';
import { createNode, type TidingsNode } from '../core/node.js';
import { createApiHandler } from './api-handler.js';
import { interfaceVersions } from './versions.js';

const apiKey = 'test-api-key-0123456789';

interface Harness {
  readonly url: string;
  readonly node: TidingsNode;
  readonly engine: ReturnType<typeof createMemoryEngine>;
  call(method: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function start(opts: { maxBodyBytes?: number; broker?: (b: Broker) => Broker } = {}): Promise<Harness> {
  const engine = createMemoryEngine();
  const node = createNode({
    broker: opts.broker ? opts.broker(engine.broker) : engine.broker,
    history: engine.history,
    presence: engine.presence,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { chat: { historySize: 10, historyTtlMs: 60_000, presence: true } } },
  });
  await node.start();
  const handler = createApiHandler(node, {
    apiKeys: ['other-key-abcdefghijkl', apiKey],
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
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
  const call = (method: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/${method}`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { url, node, engine, call };
}

describe('server API: request checks', () => {
  it('401 without a key, with a wrong key in either header form; both forms accepted', async () => {
    const h = await start();
    const noKey = await fetch(`${h.url}/api/info`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({ error: { code: 101, message: 'unauthorized' } });
    expect((await h.call('info', {}, { 'X-API-Key': 'wrong' })).status).toBe(401);
    const wrongAuth = await fetch(`${h.url}/api/info`, {
      method: 'POST',
      headers: { Authorization: 'apikey wrong' },
      body: '{}',
    });
    expect(wrongAuth.status).toBe(401);
    const bearer = await fetch(`${h.url}/api/info`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}` },
      body: '{}',
    });
    expect(bearer.status).toBe(401);
    const goodAuth = await fetch(`${h.url}/api/info`, {
      method: 'POST',
      headers: { Authorization: `apikey ${apiKey}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(goodAuth.status).toBe(200);
    expect((await h.call('info', {})).status).toBe(200);
  });

  it('400 for unparsable JSON, wrong field types, a non-object body and data+b64data', async () => {
    const h = await start();
    const badJson = await h.call('publish', '{"channel": ');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({
      error: { code: 107, message: 'bad request: request body is not valid JSON' },
    });
    const wrongType = await h.call('publish', { channel: 42, data: {} });
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as { error: { message: string } }).error.message).toMatch(
      /^bad request: channel: /,
    );
    expect((await h.call('publish', [1, 2])).status).toBe(400);
    expect((await h.call('publish', { channel: 'chat:a', data: 1, b64data: 'AA==' })).status).toBe(400);
    expect((await h.call('publish', { channel: 'chat:a' })).status).toBe(400);
    expect((await h.call('history', { channel: 'chat:a', limit: 'ten' })).status).toBe(400);
    expect((await h.call('subscribe', { user: 'u', channel: 'chat:a', session: 's' })).status).toBe(400);
  });

  it('404 for an unknown method, 405 for GET, other paths are not handled', async () => {
    const h = await start();
    const unknown = await h.call('nope', {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 104, message: 'method not found' } });
    const get = await fetch(`${h.url}/api/info`, { headers: { 'X-API-Key': apiKey } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${h.url}/apinfo`, { method: 'POST' })).status).toBe(418);
  });

  it('413 for a body over maxBodyBytes, declared or streamed', async () => {
    const h = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ channel: 'chat:a', data: 'x'.repeat(5000) });
    const res = await h.call('publish', big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(106);
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await fetch(`${h.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await h.call('history', { channel: 'chat:a', limit: 10 }).then((r) => r.json())) as object).toMatchObject({
      result: { offset: 0, publications: [] },
    });
  });
});

describe('server API: publish', () => {
  it('publishes and suppresses a repeated idempotency key (body field or header)', async () => {
    const h = await start();
    const first = await h.call('publish', { channel: 'chat:a', data: { text: 'hi' }, idempotency_key: 'k1' });
    expect(first.status).toBe(200);
    const firstBody = (await first.json()) as { result: { offset: number; epoch: string } };
    expect(firstBody.result.offset).toBe(1);
    expect(typeof firstBody.result.epoch).toBe('string');
    const again = await h.call('publish', { channel: 'chat:a', data: { text: 'hi' }, idempotency_key: 'k1' });
    expect(await again.json()).toEqual(firstBody);
    const viaHeader = await h.call('publish', { channel: 'chat:a', data: 2 }, { 'Idempotency-Key': 'k2' });
    const headerAgain = await h.call('publish', { channel: 'chat:a', data: 2 }, { 'Idempotency-Key': 'k2' });
    expect(((await viaHeader.json()) as { result: { offset: number } }).result.offset).toBe(2);
    expect(((await headerAgain.json()) as { result: { offset: number } }).result.offset).toBe(2);
    const history = (await (await h.call('history', { channel: 'chat:a', limit: -1 })).json()) as {
      result: { publications: unknown[] };
    };
    expect(history.result.publications).toHaveLength(2);
    // A header key outside 1..256 characters is refused before anything runs.
    const tooLong = await h.call('publish', { channel: 'chat:a', data: 3 }, { 'Idempotency-Key': 'k'.repeat(257) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toEqual({
      error: { code: 107, message: 'bad request: Idempotency-Key header: expected 1 to 256 characters' },
    });
    const empty = await h.call('publish', { channel: 'chat:a', data: 3 }, { 'Idempotency-Key': '' });
    expect(empty.status).toBe(400);
    const after = (await (await h.call('history', { channel: 'chat:a', limit: -1 })).json()) as {
      result: { publications: unknown[] };
    };
    expect(after.result.publications).toHaveLength(2);
  });

  it('info reports the server version and the interface versions', async () => {
    const h = await start();
    const body = (await (await h.call('info', {})).json()) as {
      result: { nodes: { version: string }[]; versions: Record<string, string> };
    };
    expect(body.result.versions).toEqual({
      server: body.result.nodes[0]!.version,
      http_api: interfaceVersions.httpApi,
      client_protocol: 'centrifuge-v2',
      protobuf_api: 'tidings.api.v1',
      one_way_streams: interfaceVersions.oneWayStreams,
    });
  });

  it('answers protocol errors with 200 and a Centrifugo error object', async () => {
    const h = await start();
    const res = await h.call('publish', { channel: 'nope:a', data: 1 });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ error: { code: 102, message: 'unknown channel' } });
    const badName = await h.call('publish', { channel: 'bad channel', data: 1 });
    expect(((await badName.json()) as { error: { code: number } }).error.code).toBe(107);
  });

  it('503 with Retry-After when the broker cannot store, never 200', async () => {
    const h = await start({
      broker: (b) => ({
        start: (handler) => b.start(handler),
        subscribe: (chs) => b.subscribe(chs),
        unsubscribe: (chs) => b.unsubscribe(chs),
        publish: async () => {
          throw new TidingsError(TidingsErrorCode.Unavailable, 'redis down');
        },
        publishJoin: (ch, info) => b.publishJoin(ch, info),
        publishLeave: (ch, info) => b.publishLeave(ch, info),
        close: () => b.close(),
      }),
    });
    const res = await h.call('publish', { channel: 'chat:a', data: 1 });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as { error: { code: number; message: string } };
    expect(body.error.code).toBe(100);
    expect(body.error.message).not.toContain('redis');
    const batch = await h.call('batch', { commands: [{ info: {} }, { publish: { channel: 'chat:a', data: 1 } }] });
    expect(batch.status).toBe(503);
    expect(batch.headers.get('retry-after')).toBe('1');
    const replies = ((await batch.json()) as { replies: Array<Record<string, unknown>> }).replies;
    expect(replies[0]).toHaveProperty('info');
    expect(replies[1]).toHaveProperty('error');
    const broadcast = await h.call('broadcast', { channels: ['chat:a'], data: 1 });
    expect(broadcast.status).toBe(503);
  });
});

describe('server API: reads', () => {
  it('history returns stored bytes verbatim as JSON, binary as b64data, and the stream position', async () => {
    const h = await start();
    const exact = '{"n": 12345678901234567890}';
    await h.call('publish', { channel: 'chat:h', b64data: Buffer.from(exact).toString('base64'), tags: { kind: 'x' } });
    await h.call('publish', { channel: 'chat:h', b64data: Buffer.from([0xff, 0x00]).toString('base64') });
    await h.call('publish', { channel: 'chat:h', data: ['a', 1] });
    const res = await h.call('history', { channel: 'chat:h', limit: 10 });
    const text = await res.text();
    expect(text).toContain(`"data":${exact}`);
    const body = JSON.parse(text) as {
      result: { offset: number; epoch: string; publications: Array<Record<string, unknown>> };
    };
    expect(body.result.offset).toBe(3);
    expect(body.result.publications.map((p) => p.offset)).toEqual([1, 2, 3]);
    expect(body.result.publications[0]?.tags).toEqual({ kind: 'x' });
    expect(body.result.publications[1]).toEqual({ b64data: '/wA=', offset: 2 });
    expect(body.result.publications[2]).toEqual({ data: ['a', 1], offset: 3 });
    const positionOnly = (await (await h.call('history', { channel: 'chat:h' })).json()) as { result: object };
    expect(positionOnly.result).toEqual({ publications: [], offset: 3, epoch: body.result.epoch });
    const since = (await (
      await h.call('history', { channel: 'chat:h', limit: 10, since: { offset: 2, epoch: body.result.epoch } })
    ).json()) as { result: { publications: Array<{ offset: number }> } };
    expect(since.result.publications.map((p) => p.offset)).toEqual([3]);
    const noHistory = await h.call('history', { channel: 'plain', limit: 10 });
    expect(noHistory.status).toBe(200);
    expect(((await noHistory.json()) as { error: { code: number } }).error.code).toBe(108);
    const removed = await h.call('history_remove', { channel: 'chat:h' });
    expect(await removed.json()).toEqual({ result: {} });
  });

  it('presence and presence_stats read the presence store', async () => {
    const h = await start();
    const connInfo = new TextEncoder().encode('{"name":"Alice"}');
    await h.engine.presence.add('chat:p', 'c1', { user: 'alice', client: 'c1', connInfo }, 60_000);
    await h.engine.presence.add('chat:p', 'c2', { user: 'alice', client: 'c2' }, 60_000);
    const presence = await (await h.call('presence', { channel: 'chat:p' })).json();
    expect(presence).toEqual({
      result: {
        presence: {
          c1: { client: 'c1', user: 'alice', conn_info: { name: 'Alice' } },
          c2: { client: 'c2', user: 'alice' },
        },
      },
    });
    expect(await (await h.call('presence_stats', { channel: 'chat:p' })).json()).toEqual({
      result: { num_clients: 2, num_users: 1 },
    });
    expect(
      ((await (await h.call('presence', { channel: 'plain' })).json()) as { error: { code: number } }).error.code,
    ).toBe(108);
  });

  it('info, channels, disconnect, subscribe and unsubscribe answer in Centrifugo shapes', async () => {
    const h = await start();
    const info = (await (await h.call('info', {})).json()) as { result: { nodes: Array<Record<string, unknown>> } };
    expect(info.result.nodes[0]).toMatchObject({ uid: h.node.id, name: h.node.name, num_clients: 0, num_channels: 0 });
    expect(await (await h.call('channels', {})).json()).toEqual({ result: { channels: {} } });
    expect(await (await h.call('disconnect', { user: 'alice' })).json()).toEqual({ result: {} });
    expect(await (await h.call('subscribe', { user: 'alice', channel: 'chat:a' })).json()).toEqual({ result: {} });
    expect(await (await h.call('unsubscribe', { user: 'alice', channel: 'chat:a' })).json()).toEqual({ result: {} });
    expect((await h.call('disconnect', { user: 'alice', disconnect: { code: 200, reason: 'x' } })).status).toBe(400);
  });
});

describe('server API: batch and broadcast', () => {
  it('batch answers one reply per command, keyed by method, errors in place', async () => {
    const h = await start();
    const res = await h.call('batch', {
      commands: [
        { publish: { channel: 'chat:b', data: { n: 1 } } },
        { publish: { channel: 'x:b', data: {} } },
        { presence_stats: { channel: 'chat:b' } },
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { replies: Array<Record<string, unknown>> };
    expect(body.replies).toHaveLength(3);
    expect(body.replies[0]).toEqual({ publish: { offset: 1, epoch: expect.any(String) } });
    expect(body.replies[1]).toEqual({ error: { code: 102, message: 'unknown channel' } });
    expect(body.replies[2]).toEqual({ presence_stats: { num_clients: 0, num_users: 0 } });
    const parallel = await h.call('batch', {
      parallel: true,
      commands: [{ publish: { channel: 'chat:b', data: 2 } }, { publish: { channel: 'chat:b', data: 3 } }],
    });
    const offsets = ((await parallel.json()) as { replies: Array<{ publish: { offset: number } }> }).replies.map(
      (r) => r.publish.offset,
    );
    expect(offsets.sort()).toEqual([2, 3]);
  });

  it('a malformed batch is rejected whole with 400 and runs nothing', async () => {
    const h = await start();
    for (const bad of [
      { commands: [{ publish: { channel: 'chat:m', data: 1 } }, { publish: { channel: 1, data: 1 } }] },
      { commands: [{ publish: { channel: 'chat:m', data: 1 } }, { nope: {} }] },
      { commands: [{ publish: { channel: 'chat:m', data: 1 }, info: {} }] },
      { commands: [{ batch: { commands: [] } }] },
    ]) {
      const res = await h.call('batch', bad);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^bad request: commands\[/);
    }
    const top = (await (await h.call('history', { channel: 'chat:m' })).json()) as { result: { offset: number } };
    expect(top.result.offset).toBe(0);
    expect((await h.call('batch', { commands: [] }, { 'Idempotency-Key': 'k' })).status).toBe(400);
  });

  it('broadcast publishes to every channel and reports a bad one in place', async () => {
    const h = await start();
    const res = await h.call('broadcast', { channels: ['chat:1', 'nope:2', 'chat:3'], data: { hello: true } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { responses: Array<Record<string, unknown>> } };
    expect(body.result.responses).toEqual([
      { result: { offset: 1, epoch: expect.any(String) } },
      { error: { code: 102, message: 'unknown channel' } },
      { result: { offset: 1, epoch: expect.any(String) } },
    ]);
    expect((await h.call('broadcast', { channels: [], data: 1 })).status).toBe(400);
  });
});

describe('createApiHandler: configuration', () => {
  it('denies every request when no API key is configured', async () => {
    const h = await start();
    const handler = createApiHandler(h.node, { apiKeys: [] });
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      for (const headers of [{}, { 'X-API-Key': '' }, { 'X-API-Key': apiKey }] as Array<Record<string, string>>) {
        const res = await fetch(`http://127.0.0.1:${port}/api/info`, { method: 'POST', headers, body: '{}' });
        expect(res.status).toBe(401);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('rejects blank API keys and a bad body limit', async () => {
    const h = await start();
    expect(() => createApiHandler(h.node, { apiKeys: [' '] })).toThrow(/api\.apiKeys\[0\]/);
    expect(() => createApiHandler(h.node, { apiKeys: ['k'], maxBodyBytes: 0 })).toThrow(/api\.maxBodyBytes/);
  });
});
