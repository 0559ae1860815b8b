import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientError, ErrorCode, encodeCursor } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../../auth/types.js';
import { createMemoryEngine } from '../../broker/memory/index.js';
import { createNode, type TidingsNode } from '../../core/node.js';
import { FakeClock } from '../../internal/clock.js';
import { createPollHandler, type PollHandler } from './poll-handler.js';

interface PollBody {
  publications: Array<{ channel: string; offset: number; epoch: string; data: unknown }>;
  cursor: string;
  discontinuities?: Array<{ channel: string; reason: string; offset: number; epoch: string }>;
  nextPollMs: number;
}

/** Anonymous without a token; "good" is user "u"; anything else is refused. */
const authenticator: Authenticator = {
  async authenticate(request) {
    if (request.token === undefined) return { userId: '', anonymous: true, channels: [] };
    if (request.token === 'good') return { userId: 'u', anonymous: false, channels: [] };
    throw clientError(ErrorCode.Unauthorized);
  },
  verifySubscriptionToken: async () => ({}),
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(): Promise<{ node: TidingsNode; clock: FakeClock; base: string; handler: PollHandler }> {
  const clock = new FakeClock();
  const node = createNode({
    ...createMemoryEngine({ clock }),
    authenticator,
    clock,
    channels: {
      namespaces: {
        feed: {
          historySize: 1000,
          historyTtlMs: 3_600_000,
          allowSubscribeForAnonymous: true,
          allowSubscribeForClient: true,
        },
        live: { allowSubscribeForAnonymous: true },
      },
    },
  });
  await node.start();
  const handler = createPollHandler(node, {
    clock,
    timeoutMs: 5_000,
    minIntervalMs: 1_000,
    maxIntervalMs: 30_000,
    maxPublications: 50,
    allowedOrigins: ['https://app.example.com'],
  });
  const server: Server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await node.shutdown();
  });
  return { node, clock, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, handler };
}

const enc = new TextEncoder();
const publishN = async (node: TidingsNode, channel: string, n: number) => {
  for (let i = 0; i < n; i++) await node.publish(channel, enc.encode(JSON.stringify({ i })));
};

async function poll(base: string, query: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/connection/poll?${query}`, { headers });
  const body = res.status === 200 ? ((await res.json()) as PollBody) : undefined;
  return { res, body };
}

describe('poll endpoint', () => {
  it('advises an interval that follows the channel change rate, within its bounds', async () => {
    const { node, clock, base } = await setUp();
    let { body } = await poll(base, 'channel=feed:a&wait=0');
    let cursor = body!.cursor;
    const advisedAt = async (perRound: number, stepMs: number, rounds: number) => {
      const advised: number[] = [];
      for (let r = 0; r < rounds; r++) {
        await publishN(node, 'feed:a', perRound);
        clock.advance(stepMs);
        ({ body } = await poll(base, `channel=feed:a&wait=0&cursor=${cursor}`));
        expect(body!.publications).toHaveLength(perRound);
        cursor = body!.cursor;
        advised.push(body!.nextPollMs);
      }
      return advised;
    };
    const busy = await advisedAt(5, 100, 10); // 50 publications a second
    expect(busy.at(-1)).toBe(1_000);
    const quiet = await advisedAt(0, 120_000, 6); // nothing for twelve minutes
    expect(quiet.at(-1)).toBe(30_000);
    const moderate = await advisedAt(1, 5_000, 20); // one publication every 5 s
    expect(moderate.at(-1)).toBeGreaterThan(1_000);
    expect(moderate.at(-1)).toBeLessThan(30_000);
    expect(Math.abs(moderate.at(-1)! - 5_000)).toBeLessThan(1_000);
    // And back to busy: the advice falls again.
    const again = await advisedAt(10, 100, 10);
    expect(again.at(-1)).toBe(1_000);
  });

  it('answers at once with what follows the cursor, in order, and cuts at the limit', async () => {
    const { node, base } = await setUp();
    const first = await poll(base, 'channel=feed:b&wait=0');
    await publishN(node, 'feed:b', 5);
    const { res, body } = await poll(base, `channel=feed:b&limit=3&cursor=${first.body!.cursor}`);
    expect(body!.publications.map((p) => [p.offset, p.data])).toEqual([
      [1, { i: 0 }],
      [2, { i: 1 }],
      [3, { i: 2 }],
    ]);
    expect(body!.nextPollMs).toBe(0);
    expect(res.headers.get('etag')).toBe(`"${body!.cursor}"`);
    expect(res.headers.get('x-tidings-poll-after-ms')).toBe('0');
    const rest = await poll(base, `channel=feed:b&cursor=${body!.cursor}`);
    expect(rest.body!.publications.map((p) => p.offset)).toEqual([4, 5]);
  });

  it('waits for a publication, and answers 304 to an unchanged cursor when the wait runs out', async () => {
    const { node, clock, base } = await setUp();
    const first = await poll(base, 'channel=feed:c&wait=0');
    const waiting = poll(base, `channel=feed:c&cursor=${first.body!.cursor}`);
    await new Promise((r) => setTimeout(r, 50));
    await node.publish('feed:c', enc.encode('"late"'));
    const woken = await waiting;
    expect(woken.body!.publications.map((p) => p.data)).toEqual(['late']);

    const etag = woken.res.headers.get('etag')!;
    const idle = poll(base, `channel=feed:c&cursor=${woken.body!.cursor}`, { 'if-none-match': etag });
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(5_000);
    const { res } = await idle;
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
    expect(Number(res.headers.get('x-tidings-poll-after-ms'))).toBeGreaterThanOrEqual(1_000);
  });

  it('reports a foreign-epoch or out-of-range cursor as an explicit discontinuity', async () => {
    const { node, base } = await setUp();
    await publishN(node, 'feed:d', 3);
    const foreign = encodeCursor({ 'feed:d': { epoch: 'other', offset: 1 } });
    const { body } = await poll(base, `cursor=${foreign}`);
    expect(body!.publications).toEqual([]);
    expect(body!.discontinuities).toEqual([
      { channel: 'feed:d', epoch: expect.any(String), offset: 3, reason: 'epoch_changed' },
    ]);
    const epoch = body!.discontinuities![0]!.epoch;
    const ahead = await poll(base, `cursor=${encodeCursor({ 'feed:d': { epoch, offset: 99 } })}`);
    expect(ahead.body!.discontinuities?.[0]?.reason).toBe('history_expired');
    // The returned cursor continues normally.
    await publishN(node, 'feed:d', 1);
    const next = await poll(base, `cursor=${ahead.body!.cursor}`);
    expect(next.body!.publications.map((p) => p.offset)).toEqual([4]);
    expect(next.body!.discontinuities).toBeUndefined();
  });

  it('marks anonymous replies cacheable by shared caches and authenticated ones private', async () => {
    const { base } = await setUp();
    const anon = await poll(base, 'channel=feed:e&wait=0');
    expect(anon.res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(anon.res.headers.get('vary')).toBe('Origin, Authorization, Cookie');
    const authed = await poll(base, 'channel=feed:e&wait=0', { authorization: 'Bearer good' });
    expect(authed.res.headers.get('cache-control')).toBe('private, no-cache');
    const refused = await poll(base, 'channel=feed:e&wait=0', { authorization: 'Bearer bad' });
    expect(refused.res.status).toBe(401);
  });

  it('refuses bad input with JSON errors', async () => {
    const { base } = await setUp();
    const cases: Array<[string, number, number]> = [
      ['channel=live:x&wait=0', 400, 108],
      ['channel=nope:x&wait=0', 404, 102],
      ['cursor=%%%', 400, 107],
      ['wait=0', 400, 107],
      ['channel=feed:x&wait=-1', 400, 107],
    ];
    for (const [query, status, code] of cases) {
      const res = await fetch(`${base}/connection/poll?${query}`);
      expect([query, res.status]).toEqual([query, status]);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(code);
    }
  });

  it('applies the Origin allow-list: 403 for others, CORS headers and preflight for allowed ones', async () => {
    const { base } = await setUp();
    const evil = await fetch(`${base}/connection/poll?channel=feed:o&wait=0`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { error: { code: number } }).error.code).toBe(103);
    const app = await poll(base, 'channel=feed:o&wait=0', { origin: 'https://app.example.com' });
    expect(app.res.status).toBe(200);
    expect(app.res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(app.res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(app.res.headers.get('access-control-expose-headers')).toContain('X-Tidings-Poll-After-Ms');
    const preflight = await fetch(`${base}/connection/poll`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    const same = await poll(base, 'channel=feed:o&wait=0', { origin: base });
    expect(same.res.status).toBe(200);
    expect(same.res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
