import { createServer as createH2Server, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { type Client, Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackendStreamLogin } from './backend-stream.js';
import { createConnectHandler } from './connect-handler.js';
import { ApiService, ErrorSchema, type StreamMessage } from './gen/tidings/api/v1/api_pb.js';

const apiKey = 'stream-test-key-abcdefgh';
const engine = createMemoryEngine();
const login = createBackendStreamLogin();
const node = createNode({
  broker: engine.broker,
  history: engine.history,
  presence: engine.presence,
  authenticator: login.wrap(createJwtAuthenticator({ keys: [], allowAnonymous: false })),
  channels: {
    namespaces: {
      feed: { historySize: 100, historyTtlMs: 60_000, allowRecovery: true },
      short: { historySize: 3, historyTtlMs: 60_000, allowRecovery: true },
    },
  },
});
const handler = createConnectHandler(node, { apiKeys: [apiKey], backendStreams: login });
const h2: Http2Server = createH2Server(handler);
const sessions = new Set<ServerHttp2Session>();
h2.on('session', (s) => {
  sessions.add(s);
  s.on('close', () => sessions.delete(s));
});
let client: Client<typeof ApiService>;
const headers = { 'x-api-key': apiKey };
const enc = new TextEncoder();
const dec = new TextDecoder();

beforeAll(async () => {
  await node.start();
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  client = createClient(
    ApiService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${(h2.address() as AddressInfo).port}` }),
  );
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await new Promise<void>((r) => h2.close(() => r()));
  await node.shutdown();
});

const publish = async (channel: string, text: string): Promise<bigint> => {
  const res = await client.publish({ channel, data: enc.encode(text) }, { headers });
  expect(res.error).toBeUndefined();
  return res.result?.offset ?? -1n;
};

/** Reads a stream message by message; `take(n)` waits for the next n. */
function reader(request: Parameters<typeof client.subscribe>[0], timeoutMs?: number) {
  const abort = new AbortController();
  const it = client
    .subscribe(request, { headers, signal: abort.signal, ...(timeoutMs ? { timeoutMs } : {}) })
    [Symbol.asyncIterator]();
  return {
    async take(n: number): Promise<StreamMessage[]> {
      const out: StreamMessage[] = [];
      while (out.length < n) {
        const next = await it.next();
        if (next.done) throw new Error('stream ended');
        out.push(next.value);
      }
      return out;
    },
    next: () => it.next(),
    cancel: () => abort.abort(),
  };
}

const texts = (messages: StreamMessage[]): string[] =>
  messages.map((m) => (m.event.case === 'publication' ? dec.decode(m.event.value.data) : `<${m.event.case}>`));

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('Subscribe (server stream)', () => {
  it('delivers live publications after `subscribed`', async () => {
    const channel = 'feed:live';
    const top = await publish(channel, 'before');
    const s = reader({ channels: [channel] });
    const [subscribed] = await s.take(1);
    expect(subscribed?.event.case).toBe('subscribed');
    expect(subscribed?.event.value).toMatchObject({ offset: top });
    await publish(channel, 'a');
    await publish(channel, 'b');
    const live = await s.take(2);
    expect(texts(live)).toEqual(['a', 'b']);
    expect(live.map((m) => m.channel)).toEqual([channel, channel]);
    expect(live.map((m) => (m.event.case === 'publication' ? m.event.value.offset : 0n))).toEqual([top + 1n, top + 2n]);
    s.cancel();
  });

  it('resumes after a disconnect with exactly the missed publications, then live ones', async () => {
    const channel = 'feed:resume';
    const first = reader({ channels: [channel] });
    const [subscribed] = await first.take(1);
    const epoch = subscribed?.event.case === 'subscribed' ? subscribed.event.value.epoch : '';
    await publish(channel, 'p1');
    await publish(channel, 'p2');
    const got = await first.take(2);
    const last = got[1]?.event.case === 'publication' ? got[1].event.value.offset : 0n;
    first.cancel();
    // The session of the cancelled stream is released.
    await until(() => node.info().numClients === 0);
    for (const t of ['m1', 'm2', 'm3']) await publish(channel, t);

    const again = reader({ channels: [channel], positions: { [channel]: { offset: last, epoch } } });
    const resumed = await again.take(4);
    expect(texts(resumed)).toEqual(['m1', 'm2', 'm3', '<subscribed>']);
    expect(resumed[3]?.event.value).toMatchObject({ offset: last + 3n, epoch });
    await publish(channel, 'live');
    expect(texts(await again.take(1))).toEqual(['live']);
    again.cancel();
  });

  it('sends Discontinuity for a position history no longer covers (retention or another epoch)', async () => {
    const channel = 'short:old';
    const s0 = reader({ channels: [channel] });
    const [sub] = await s0.take(1);
    s0.cancel();
    const epoch = sub?.event.case === 'subscribed' ? sub.event.value.epoch : '';
    for (let i = 0; i < 6; i++) await publish(channel, `x${i}`);
    const old = reader({ channels: [channel], positions: { [channel]: { offset: 1n, epoch } } });
    const [gap, subscribed] = await old.take(2);
    expect(gap?.event.case).toBe('discontinuity');
    expect(gap?.event.value).toMatchObject({ requested: { offset: 1n, epoch }, current: { offset: 6n, epoch } });
    expect(subscribed?.event).toMatchObject({ case: 'subscribed', value: { offset: 6n, epoch } });
    old.cancel();

    const other = reader({ channels: [channel], positions: { [channel]: { offset: 5n, epoch: 'not-this-one' } } });
    expect((await other.take(1))[0]?.event.case).toBe('discontinuity');
    other.cancel();
  });

  it('refuses bad requests with INVALID_ARGUMENT and a missing key with UNAUTHENTICATED', async () => {
    const fail = async (request: Parameters<typeof client.subscribe>[0], h: Record<string, string> = headers) => {
      const it = client.subscribe(request, { headers: h })[Symbol.asyncIterator]();
      return ConnectError.from(await it.next().catch((e: unknown) => e));
    };
    expect((await fail({ channels: [] })).code).toBe(Code.InvalidArgument);
    const unknown = await fail({ channels: ['nowhere:x'] });
    expect(unknown.code).toBe(Code.InvalidArgument);
    const stray = await fail({ channels: ['feed:a'], positions: { 'feed:b': { offset: 1n, epoch: 'e' } } });
    expect(stray.code).toBe(Code.InvalidArgument);
    expect(stray.findDetails(ErrorSchema)[0]?.code).toBe(107);
    expect((await fail({ channels: ['feed:a'] }, {})).code).toBe(Code.Unauthenticated);
    await until(() => node.info().numClients === 0);
  });

  it('ends with DEADLINE_EXCEEDED at its deadline (grpc-timeout) and releases the session', async () => {
    const s = reader({ channels: ['feed:deadline'] }, 300);
    await s.take(1);
    expect(node.info().numClients).toBe(1);
    const err = ConnectError.from(await s.next().catch((e: unknown) => e));
    expect(err.code).toBe(Code.DeadlineExceeded);
    await until(() => node.info().numClients === 0);
  });

  it('ends with UNAVAILABLE when the server unsubscribes the stream, so the client resumes', async () => {
    const s = reader({ channels: ['feed:kicked'] });
    await s.take(1);
    await client.unsubscribe({ user: 'api-key', channel: 'feed:kicked' }, { headers });
    const err = ConnectError.from(await s.next().catch((e: unknown) => e));
    expect(err.code).toBe(Code.Unavailable);
  });
});

describe('Batch', () => {
  it('answers one reply per command in order, refusals in place', async () => {
    const res = await client.batch(
      {
        commands: [
          { command: { case: 'publish', value: { channel: 'feed:batch', data: enc.encode('"one"') } } },
          { command: { case: 'publish', value: { channel: 'nowhere:x', data: enc.encode('1') } } },
          { command: { case: 'history', value: { channel: 'feed:batch', limit: -1 } } },
          { command: { case: 'info', value: {} } },
        ],
      },
      { headers },
    );
    expect(res.replies.map((r) => r.result.case ?? 'error')).toEqual(['publish', 'error', 'history', 'info']);
    expect(res.replies[1]?.error?.code).toBe(102);
    const history = res.replies[2]?.result;
    expect(history?.case === 'history' && dec.decode(history.value.publications.at(-1)?.data)).toBe('"one"');
  });

  it('runs commands in parallel when asked, with the same replies', async () => {
    const commands = ['a', 'b', 'c'].map((t) => ({
      command: { case: 'publish' as const, value: { channel: 'feed:parallel', data: enc.encode(`"${t}"`) } },
    }));
    const res = await client.batch({ commands, parallel: true }, { headers });
    const offsets = res.replies.map((r) => (r.result.case === 'publish' ? r.result.value.offset : 0n));
    expect([...offsets].sort()).toEqual([1n, 2n, 3n]);
  });

  it('rejects a malformed batch whole with INVALID_ARGUMENT and runs nothing', async () => {
    const err = ConnectError.from(
      await client
        .batch(
          {
            commands: [
              { command: { case: 'publish', value: { channel: 'feed:whole', data: enc.encode('1') } } },
              { command: { case: 'publish', value: { channel: 'feed:whole', idempotencyKey: 'k'.repeat(300) } } },
            ],
          },
          { headers },
        )
        .catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(ErrorSchema)[0]?.code).toBe(107);
    expect(err.rawMessage).toMatch(/^commands\[1\]\.publish\.idempotency_key/);
    const history = await client.history({ channel: 'feed:whole', limit: -1 }, { headers });
    expect(history.publications).toHaveLength(0);
    const empty = await client.batch({ commands: [{}] }, { headers }).catch((e: unknown) => e);
    expect(ConnectError.from(empty).code).toBe(Code.InvalidArgument);
  });
});
