import { isTidingsError } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import type { HookClient } from '../core/hooks.js';
import { isHookDisconnect } from '../core/hooks.js';
import { createHttpProxyHooks } from './http-proxy.js';
import { dataFields, pickHeaders } from './proxy-payload.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Sent {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

/** A fetch that answers from a script of responses (or throws, for a connection error). */
function fakeFetch(script: Array<Response | Error>) {
  const sent: Sent[] = [];
  const fn = (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({
      url: String(url),
      headers: init?.headers as Record<string, string>,
      body: JSON.parse(String(init?.body)) as Record<string, unknown>,
    });
    const next = script.shift() ?? new Error('script exhausted');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { fn, sent };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const who: HookClient = {
  client: 'c1',
  user: 'u1',
  transport: 'websocket',
  protocol: 'json',
  headers: {},
  meta: { m: 1 },
};

describe('createHttpProxyHooks', () => {
  it('rejects endpoint URLs that are not http(s) and bad numbers, naming the option', () => {
    expect(() => createHttpProxyHooks({ connect: { url: 'ftp://x' } })).toThrow(/proxy\.connect\.url/);
    expect(() => createHttpProxyHooks({ namespaces: { a: { publish: { url: 'nope' } } } })).toThrow(
      /proxy\.namespaces\.a\.publish\.url/,
    );
    expect(() => createHttpProxyHooks({ timeoutMs: 0 })).toThrow(/proxy\.timeoutMs/);
  });

  it('skips the connect proxy for clients that bring a token', async () => {
    const { fn, sent } = fakeFetch([]);
    const hooks = createHttpProxyHooks({ connect: { url: 'http://b/connect' }, fetch: fn });
    const ctx = { client: 'c', transport: 'websocket', protocol: 'json' as const, requestHeaders: {}, token: 't' };
    expect(await hooks.onConnecting?.(ctx)).toBeUndefined();
    expect(sent).toHaveLength(0);
  });

  it('sends the Centrifugo request fields and maps the result (b64 fields too)', async () => {
    const { fn, sent } = fakeFetch([
      json({
        result: { user: 'u9', expire_at: 99, b64info: Buffer.from('hi').toString('base64'), subs: { 'a:b': {} } },
      }),
    ]);
    const hooks = createHttpProxyHooks({
      connect: { url: 'http://b/connect' },
      cookies: ['sid'],
      httpHeaders: ['X-Trace'],
      staticHeaders: { 'x-secret': 's' },
      fetch: fn,
    });
    const result = await hooks.onConnecting?.({
      client: 'c',
      transport: 'sse',
      protocol: 'json',
      data: enc.encode('{"x":1}'),
      requestHeaders: { cookie: 'sid=1; other=2', 'x-trace': 't', authorization: 'no' },
    });
    expect(sent[0]?.body).toEqual({
      client: 'c',
      transport: 'sse',
      protocol: 'json',
      encoding: 'json',
      data: { x: 1 },
    });
    expect(sent[0]?.headers).toMatchObject({ cookie: 'sid=1', 'x-trace': 't', 'x-secret': 's' });
    expect(sent[0]?.headers.authorization).toBeUndefined();
    expect(result).toMatchObject({ user: 'u9', expireAt: 99, channels: ['a:b'] });
    expect(dec.decode(result?.info)).toBe('hi');
  });

  it('retries idempotent calls after a connection error or 503, never publish or rpc', async () => {
    const sub = fakeFetch([new TypeError('fetch failed'), json({}, 503), json({ result: {} })]);
    const subHooks = createHttpProxyHooks({
      namespaces: { n: { subscribe: { url: 'http://b/s' } } },
      retries: 2,
      fetch: sub.fn,
    });
    await expect(subHooks.onSubscribe?.({ ...who, channel: 'n:x' })).resolves.toEqual({});
    expect(sub.sent).toHaveLength(3);

    const pub = fakeFetch([json({}, 503), json({ result: {} })]);
    const pubHooks = createHttpProxyHooks({
      namespaces: { n: { publish: { url: 'http://b/p' } } },
      retries: 2,
      fetch: pub.fn,
    });
    const failed = await pubHooks
      .onPublish?.({ ...who, channel: 'n:x', data: enc.encode('1') })
      .catch((e: unknown) => e);
    expect(isTidingsError(failed) && failed.code).toBe('TIDINGS_ERR_PROXY');
    expect(isTidingsError(failed) && [failed.wireCode, failed.message, failed.temporary]).toEqual([
      100,
      'backend error',
      true,
    ]);
    expect(pub.sent).toHaveLength(1);
  });

  it('times out a slow backend with "backend timeout" and does not ask it twice', async () => {
    let calls = 0;
    const slow = (async (_url: string | URL | Request, init?: RequestInit) => {
      calls++;
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }) as typeof fetch;
    const hooks = createHttpProxyHooks({ rpc: { url: 'http://b/rpc', timeoutMs: 30 }, retries: 3, fetch: slow });
    const error = await Promise.resolve(hooks.onRpc?.({ ...who, method: 'm', data: enc.encode('{}') })).catch(
      (e: unknown) => e,
    );
    expect(isTidingsError(error) && [error.wireCode, error.message]).toEqual([100, 'backend timeout']);
    expect(calls).toBe(1);
  });

  it('turns a backend error into the reply error and a backend disconnect into a HookDisconnect', async () => {
    const { fn } = fakeFetch([
      json({ error: { code: 1403, message: 'nope' } }),
      json({ disconnect: { code: 4500, reason: 'bye' } }),
    ]);
    const hooks = createHttpProxyHooks({
      defaults: undefined,
      namespaces: { '': { subscribe: { url: 'http://b/s' } } },
      fetch: fn,
    });
    const refused = await Promise.resolve(hooks.onSubscribe?.({ ...who, channel: 'plain' })).catch((e: unknown) => e);
    expect(isTidingsError(refused) && [refused.wireCode, refused.message]).toEqual([1403, 'nope']);
    const gone = await Promise.resolve(hooks.onSubscribe?.({ ...who, channel: 'plain' })).catch((e: unknown) => e);
    expect(isHookDisconnect(gone) && gone.disconnect).toEqual({ code: 4500, reason: 'bye' });
  });

  it('ends a subscription at its expiry when its namespace has no sub_refresh proxy', async () => {
    const hooks = createHttpProxyHooks({
      namespaces: { n: { subscribe: { url: 'http://b/s' } } },
      fetch: fakeFetch([]).fn,
    });
    await expect(Promise.resolve(hooks.onSubRefresh?.({ ...who, channel: 'n:x' }))).resolves.toEqual({ expired: true });
  });

  it('routes rpc by method namespace and answers 104 for a method nobody serves', async () => {
    const { fn, sent } = fakeFetch([json({ result: { data: { ok: 1 } } })]);
    const hooks = createHttpProxyHooks({ namespaces: { ns: { rpc: { url: 'http://b/ns-rpc' } } }, fetch: fn });
    const reply = await hooks.onRpc?.({ ...who, method: 'ns:go', data: enc.encode('[1]') });
    expect(dec.decode(reply?.data)).toBe('{"ok":1}');
    expect(sent[0]).toMatchObject({
      url: 'http://b/ns-rpc',
      body: { method: 'ns:go', data: [1], user: 'u1', meta: { m: 1 } },
    });
    const missing = await Promise.resolve(hooks.onRpc?.({ ...who, method: 'other', data: enc.encode('1') })).catch(
      (e: unknown) => e,
    );
    expect(isTidingsError(missing) && missing.wireCode).toBe(104);
  });
});

describe('proxy payload helpers', () => {
  it('sends binary or non-JSON data as b64data', () => {
    expect(dataFields('protobuf', new Uint8Array([1, 2]))).toEqual({ b64data: 'AQI=' });
    expect(dataFields('json', enc.encode('not json'))).toEqual({ b64data: Buffer.from('not json').toString('base64') });
    expect(dataFields('json', undefined)).toEqual({});
  });

  it('forwards only allow-listed headers and cookies', () => {
    const headers = { cookie: 'a=1; b=2; c=3', 'x-one': ['p', 'q'], host: 'h' };
    expect(pickHeaders(headers, ['x-one', 'cookie'], ['a', 'c'])).toEqual({ 'x-one': 'p, q', cookie: 'a=1; c=3' });
    expect(pickHeaders(headers, [], [])).toEqual({});
  });
});
