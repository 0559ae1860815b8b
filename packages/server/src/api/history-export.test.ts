import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/jwt-authenticator.js';
import { createMemoryEngine } from '../broker/memory/memory-engine.js';
import type { HistoryQuery, HistoryReadResult } from '../broker/types.js';
import { createNode, type TidingsNode } from '../core/node.js';
import { createApiHandler } from './api-handler.js';

const apiKey = 'export-api-key-0123456789';
const encoder = new TextEncoder();

type HistoryHook = (query: HistoryQuery, call: number) => Promise<void>;

interface Harness {
  readonly url: string;
  readonly port: number;
  readonly node: TidingsNode;
  /** History reads the export made. */
  readonly reads: HistoryQuery[];
  get(query: string, headers?: Record<string, string>): Promise<Response>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function start(opts: { pageSize: number; historySize?: number; beforeRead?: HistoryHook }): Promise<Harness> {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: {
      namespaces: {
        log: { historySize: opts.historySize ?? 100_000, historyTtlMs: 600_000 },
        live: {},
      },
    },
  });
  await node.start();
  const reads: HistoryQuery[] = [];
  // Records (and optionally acts before) every history read the export makes.
  const observed = {
    history: async (channel: string, query: HistoryQuery): Promise<HistoryReadResult> => {
      reads.push(query);
      await opts.beforeRead?.(query, reads.length);
      return node.history(channel, query);
    },
  };
  const handler = createApiHandler(
    { ...observedNode(node), ...observed },
    { apiKeys: [apiKey], exportPageSize: opts.pageSize },
  );
  const server: Server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  cleanups.push(async () => {
    await node.shutdown();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const get = (query: string, headers: Record<string, string> = { 'X-API-Key': apiKey }) =>
    fetch(`${url}/api/history/stream${query}`, { headers });
  return { url, port, node, reads, get };
}

/** The node's API methods, bound, so one of them can be overridden. */
function observedNode(node: TidingsNode) {
  return {
    publish: node.publish.bind(node),
    history: node.history.bind(node),
    removeHistory: node.removeHistory.bind(node),
    presence: node.presence.bind(node),
    presenceStats: node.presenceStats.bind(node),
    channels: node.channels.bind(node),
    info: node.info.bind(node),
    disconnectUser: node.disconnectUser.bind(node),
    unsubscribeUser: node.unsubscribeUser.bind(node),
    subscribeUser: node.subscribeUser.bind(node),
  };
}

async function publishMany(node: TidingsNode, channel: string, n: number, size = 0): Promise<void> {
  const pad = 'x'.repeat(size);
  for (let i = 0; i < n; i++) await node.publish(channel, encoder.encode(JSON.stringify({ i, pad })));
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('GET /api/history/stream', () => {
  it('streams every retained publication in offset order, across pages, then the end position', async () => {
    const h = await start({ pageSize: 7 });
    await publishMany(h.node, 'log:a', 50);
    await h.node.publish('log:a', encoder.encode('not json'), { tags: { k: 'v' } });
    const res = await h.get('?channel=log:a');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const out = lines(await res.text());
    expect(out).toHaveLength(52);
    const pubs = out.slice(0, 51);
    expect(pubs.map((p) => p.offset)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    expect(pubs[0]).toEqual({ type: 'publication', data: { i: 0, pad: '' }, offset: 1 });
    expect(pubs[50]).toEqual({
      type: 'publication',
      b64data: Buffer.from('not json').toString('base64'),
      offset: 51,
      tags: { k: 'v' },
    });
    const top = await h.node.history('log:a', { limit: 0 });
    expect(out[51]).toEqual({ type: 'end', channel: 'log:a', epoch: top.epoch, offset: 51, publications: 51 });
    expect(h.reads.length).toBe(1 + Math.ceil(51 / 7));
  });

  it('an empty channel ends at once; the export stops at the top position seen when it started', async () => {
    let armed = false;
    const h = await start({
      pageSize: 5,
      beforeRead: async (_q, call) => {
        if (armed && call === 2) await publishMany(h.node, 'log:b', 3);
      },
    });
    const empty = lines(await (await h.get('?channel=log:empty')).text());
    expect(empty).toEqual([expect.objectContaining({ type: 'end', offset: 0, publications: 0 })]);
    h.reads.length = 0;
    armed = true;
    await publishMany(h.node, 'log:b', 12);
    const out = lines(await (await h.get('?channel=log:b')).text());
    expect(out.at(-1)).toMatchObject({ type: 'end', offset: 12, publications: 12 });
    expect(out.filter((l) => l.type === 'publication')).toHaveLength(12);
  });

  it('ends with an explicit 112 error line when retention trims past the export position', async () => {
    const h = await start({
      pageSize: 4,
      historySize: 10,
      beforeRead: async (_q, call) => {
        if (call === 3) await publishMany(h.node, 'log:c', 20);
      },
    });
    await publishMany(h.node, 'log:c', 10);
    const out = lines(await (await h.get('?channel=log:c')).text());
    expect(out.slice(0, 4).map((l) => l.offset)).toEqual([1, 2, 3, 4]);
    expect(out).toHaveLength(5);
    expect(out[4]).toMatchObject({ type: 'error', error: { code: 112 } });
  });

  it('reads the next page only when the client has taken the previous one (backpressure)', async () => {
    const h = await start({ pageSize: 50 });
    await publishMany(h.node, 'log:big', 4000, 4000); // about 16 MB, far above socket buffers
    const socket = connect(h.port, '127.0.0.1');
    socket.pause();
    socket.write(`GET /api/history/stream?channel=log:big HTTP/1.1\r\nHost: x\r\nX-API-Key: ${apiKey}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whilePaused = h.reads.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Stalled: far fewer than the 81 reads of the whole export, and no more while paused.
    expect(whilePaused).toBeLessThan(60);
    expect(h.reads.length).toBe(whilePaused);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.resume();
    await new Promise<void>((resolve) => {
      const check = () => (text.includes('"type":"end"') ? resolve() : setTimeout(check, 20));
      check();
    });
    socket.destroy();
    expect(h.reads.length).toBe(81);
    expect(text).toContain('"publications":4000');
  });

  it('refuses bad requests before streaming, with JSON errors', async () => {
    const h = await start({ pageSize: 10 });
    const noKey = await h.get('?channel=log:a', {});
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({ error: { code: 101, message: 'unauthorized' } });
    const cases: Array<[string, number, number]> = [
      ['', 400, 107],
      ['?channel=log:a&channel=log:b', 400, 107],
      ['?channel=', 400, 107],
      ['?channel=log:%20bad%00', 400, 107],
      ['?channel=nope:a', 404, 102],
      ['?channel=live:a', 400, 108],
    ];
    for (const [query, status, code] of cases) {
      const res = await h.get(query);
      expect([query, res.status]).toEqual([query, status]);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(code);
    }
    const post = await fetch(`${h.url}/api/history/stream?channel=log:a`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(h.reads.filter((q) => q.limit !== 0)).toEqual([]);
  });
});
