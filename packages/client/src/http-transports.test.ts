import { encodeCursor, jsonCodec, protobufCodec } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import type { Clock } from './clock.js';
import { fetchStreamTransport } from './fetch-stream-transport.js';
import type { FetchLike, ResponseLike } from './http.js';
import { pollTransport } from './poll-transport.js';
import { type EventSourceLike, sseTransport } from './sse-transport.js';
import type { TransportHandlers } from './transport.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const tick = () => new Promise((r) => setTimeout(r, 0));

function recorder() {
  const got: string[] = [];
  const closes: string[] = [];
  let opened = 0;
  const handlers: TransportHandlers = {
    onOpen: () => opened++,
    onMessage: (f) => got.push(dec.decode(f)),
    onClose: (_c, reason) => closes.push(reason),
  };
  return { handlers, got, closes, opened: () => opened };
}

/** A fetch whose answers the test gives; records every request. */
function fakeFetch(answer: (url: string, body: string | undefined) => ResponseLike | Promise<ResponseLike>) {
  const calls: { url: string; method: string; body: string | undefined; headers: Record<string, string> }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, method: init.method, body: init.body, headers: init.headers ?? {} });
    return answer(url, init.body);
  };
  return { fetch, calls };
}

const json = (status: number, body: unknown): ResponseLike => ({
  ok: status >= 200 && status < 300,
  status,
  body: null,
  json: async () => body,
});

/** A fake clock whose timers run when the test advances it. */
function fakeClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) if (t.at <= now && timers.delete(id)) t.fn();
  };
  return { clock, advance };
}

const connectReply = '{"id":1,"connect":{"client":"c","session":"S1","node":"N1"}}';

describe('sseTransport', () => {
  it('opens the stream with the connect command, then POSTs later commands in order, one request at a time', async () => {
    const sources: Array<EventSourceLike & { url: string }> = [];
    class FakeEventSource implements EventSourceLike {
      onmessage: ((ev: { data: string }) => void) | null = null;
      onerror: ((ev: unknown) => void) | null = null;
      closed = false;
      constructor(readonly url: string) {
        sources.push(this);
      }
      close() {
        this.closed = true;
      }
    }
    let release: (() => void) | undefined;
    const f = fakeFetch(
      () =>
        new Promise((resolve) => {
          release = () => resolve(json(204, null));
        }),
    );
    const r = recorder();
    const t = sseTransport({
      url: 'http://h/connection/sse',
      emulationUrl: 'http://h/emulation',
      codec: jsonCodec,
      EventSource: FakeEventSource,
      fetch: f.fetch,
    }).open(r.handlers);
    expect(r.opened()).toBe(0);
    await tick();
    expect(r.opened()).toBe(1);
    t.send(enc.encode('{"id":1,"connect":{}}'));
    expect(sources[0]?.url).toBe(`http://h/connection/sse?cf_connect=${encodeURIComponent('{"id":1,"connect":{}}')}`);
    // A command sent before the connect reply waits for the session id.
    t.send(enc.encode('{"id":2,"subscribe":{"channel":"a"}}'));
    expect(f.calls).toHaveLength(0);
    sources[0]?.onmessage?.({ data: connectReply });
    expect(r.got).toEqual([connectReply]);
    await tick();
    expect(f.calls.map((c) => JSON.parse(c.body ?? ''))).toEqual([
      { node: 'N1', session: 'S1', data: '{"id":2,"subscribe":{"channel":"a"}}' },
    ]);
    t.send(enc.encode('{"id":3,"publish":{"channel":"a","data":1}}'));
    t.send(enc.encode('{"id":4,"publish":{"channel":"a","data":2}}'));
    expect(f.calls).toHaveLength(1);
    release?.();
    await tick();
    await tick();
    expect(f.calls).toHaveLength(2);
    expect(JSON.parse(f.calls[1]?.body ?? '').data).toBe(
      '{"id":3,"publish":{"channel":"a","data":1}}\n{"id":4,"publish":{"channel":"a","data":2}}',
    );
    // A stream error ends the transport once and closes the EventSource (no auto-reconnect).
    sources[0]?.onerror?.({});
    sources[0]?.onerror?.({});
    expect(r.closes).toEqual(['sse stream error']);
    expect((sources[0] as FakeEventSource).closed).toBe(true);
  });

  it('ends the transport when the emulation POST is refused (session on another node)', async () => {
    let source: EventSourceLike | undefined;
    const f = fakeFetch(() => json(404, { error: { code: 107, message: 'no such session' } }));
    const r = recorder();
    const t = sseTransport({
      url: 'http://h/connection/sse',
      emulationUrl: 'http://h/emulation',
      codec: jsonCodec,
      EventSource: class {
        onmessage: ((ev: { data: string }) => void) | null = null;
        onerror: ((ev: unknown) => void) | null = null;
        constructor() {
          source = this;
        }
        close() {}
      },
      fetch: f.fetch,
    }).open(r.handlers);
    t.send(enc.encode('{"id":1,"connect":{}}'));
    source?.onmessage?.({ data: connectReply });
    t.send(enc.encode('{"id":2,"subscribe":{"channel":"a"}}'));
    await tick();
    expect(r.closes).toEqual(['emulation POST answered 404']);
  });

  it('refuses a codec other than JSON', () => {
    expect(() => sseTransport({ url: 'x', emulationUrl: 'y', codec: protobufCodec })).toThrow(/JSON only/);
  });
});

describe('fetchStreamTransport', () => {
  it('POSTs the connect command, splits the streamed body into whole lines, ends when the body ends', async () => {
    const chunks = [`${connectReply}\n{"push":{"channel":"a",`, '"pub":{"offset":1,"data":1}}}\n', '{"push":{}}\n'];
    const body = {
      getReader: () => ({
        read: async () => {
          const value = chunks.shift();
          return value === undefined ? { done: true } : { done: false, value: enc.encode(value) };
        },
        cancel: async () => {},
      }),
    };
    const f = fakeFetch((url) =>
      url.endsWith('/http_stream') ? { ok: true, status: 200, body, json: async () => null } : json(204, null),
    );
    const r = recorder();
    const t = fetchStreamTransport({
      url: 'http://h/connection/http_stream',
      emulationUrl: 'http://h/emulation',
      codec: jsonCodec,
      fetch: f.fetch,
    }).open(r.handlers);
    await tick();
    expect(r.opened()).toBe(1);
    t.send(enc.encode('{"id":1,"connect":{}}'));
    t.send(enc.encode('{"id":2,"subscribe":{"channel":"a"}}'));
    for (let i = 0; i < 10; i++) await tick();
    expect(f.calls[0]).toMatchObject({ method: 'POST', body: '{"id":1,"connect":{}}' });
    expect(r.got).toEqual([connectReply, '{"push":{"channel":"a","pub":{"offset":1,"data":1}}}', '{"push":{}}']);
    expect(JSON.parse(f.calls[1]?.body ?? '')).toEqual({
      node: 'N1',
      session: 'S1',
      data: '{"id":2,"subscribe":{"channel":"a"}}',
    });
    expect(r.closes).toEqual(['http_stream ended']);
  });

  it('fails when the server answers the stream with an error status', async () => {
    const f = fakeFetch(() => json(503, null));
    const r = recorder();
    const t = fetchStreamTransport({ url: 'u', emulationUrl: 'e', codec: jsonCodec, fetch: f.fetch }).open(r.handlers);
    t.send(enc.encode('{"id":1,"connect":{}}'));
    await tick();
    await tick();
    expect(r.closes).toEqual(['http_stream answered 503']);
  });
});

describe('pollTransport', () => {
  it('answers the client protocol itself: connect after a probe, subscribe from the position, later publications as pushes', async () => {
    const { clock, advance } = fakeClock();
    const cursor = (offset: number) => encodeCursor({ 'ch:a': { epoch: 'e', offset } });
    const answers: Array<(url: string) => ResponseLike> = [
      () => json(400, { error: { code: 107, message: 'no channel' } }), // the probe
      () =>
        json(200, {
          publications: [
            { channel: 'ch:a', offset: 3, epoch: 'e', data: { n: 3 } },
            { channel: 'ch:a', offset: 4, epoch: 'e', data: { n: 4 } },
          ],
          cursor: cursor(4),
          nextPollMs: 500,
        }),
      () =>
        json(200, {
          publications: [{ channel: 'ch:a', offset: 5, epoch: 'e', data: 5, tags: { k: 'v' } }],
          cursor: cursor(5),
          nextPollMs: 700,
        }),
      () =>
        json(200, {
          publications: [],
          discontinuities: [{ channel: 'ch:a', epoch: 'f', offset: 0, reason: 'epoch_changed' }],
          cursor: encodeCursor({ 'ch:a': { epoch: 'f', offset: 0 } }),
          nextPollMs: 100,
        }),
    ];
    const f = fakeFetch((url) => (answers.shift() as (u: string) => ResponseLike)(url));
    const r = recorder();
    const t = pollTransport({ url: 'http://h/connection/poll', codec: jsonCodec, fetch: f.fetch, clock }).open(
      r.handlers,
    );
    await tick();
    t.send(enc.encode('{"id":1,"connect":{"token":"T"}}'));
    await tick();
    await tick();
    expect(JSON.parse(r.got[0] ?? '')).toMatchObject({ id: 1, connect: {} });
    t.send(enc.encode('{"id":2,"subscribe":{"channel":"ch:a","recover":true,"epoch":"e","offset":2}}'));
    t.send(enc.encode('{"id":3,"publish":{"channel":"ch:a","data":1}}'));
    for (let i = 0; i < 4; i++) await tick();
    expect(f.calls[1]?.url).toBe('http://h/connection/poll?channel=ch%3Aa&since=e.2&wait=0');
    expect(f.calls[1]?.headers).toEqual({ authorization: 'Bearer T' });
    const replies = r.got.slice(1).map((g) => JSON.parse(g));
    expect(replies).toContainEqual({
      id: 3,
      error: { code: 108, message: 'not available over polling', temporary: true },
    });
    expect(replies).toContainEqual({
      id: 2,
      subscribe: {
        recoverable: true,
        positioned: true,
        epoch: 'e',
        offset: 4,
        was_recovering: true,
        recovered: true,
        publications: [
          { offset: 3, data: { n: 3 } },
          { offset: 4, data: { n: 4 } },
        ],
      },
    });
    r.got.length = 0;
    advance(499);
    expect(f.calls).toHaveLength(2);
    advance(1);
    for (let i = 0; i < 4; i++) await tick();
    expect(f.calls[2]?.url).toBe(`http://h/connection/poll?cursor=${encodeURIComponent(cursor(4))}&wait=0`);
    expect(r.got.map((g) => JSON.parse(g))).toEqual([
      { push: { channel: 'ch:a', pub: { offset: 5, data: 5, tags: { k: 'v' } } } },
    ]);
    // A cursor the server cannot continue: the client is told to resubscribe (2500).
    advance(700);
    for (let i = 0; i < 4; i++) await tick();
    expect(JSON.parse(r.got[1] ?? '')).toEqual({
      push: { channel: 'ch:a', unsubscribe: { code: 2500, reason: 'insufficient state' } },
    });
    advance(10_000);
    expect(f.calls).toHaveLength(4);
    expect(r.closes).toEqual([]);
  });

  it('fails when the server cannot be reached', async () => {
    const f = fakeFetch(() => Promise.reject(new TypeError('fetch failed')));
    const r = recorder();
    const t = pollTransport({ url: 'u', codec: jsonCodec, fetch: f.fetch }).open(r.handlers);
    t.send(enc.encode('{"id":1,"connect":{}}'));
    await tick();
    await tick();
    expect(r.closes).toEqual(['poll failed']);
    expect(r.got).toEqual([]);
  });
});
