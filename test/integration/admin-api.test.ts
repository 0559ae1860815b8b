// The admin console's server side, over real HTTP: the page and its policy, the admin API
// behind the password (session cookie) or token (Bearer), stable admin_* error codes, the
// channel browser, publish, the live tail (SSE) and disconnecting a user.
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import type { ConfigInput } from '../../apps/tidings/src/config/schema.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const password = 'admin-password-for-tests';
const token = 'admin-token-for-tests-0123456789';
const secret = 'admin-api-test-secret-0123456789abcdef';

function configWith(extra: ConfigInput = {}) {
  return loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      channels: {
        namespaces: {
          room: { historySize: 10, historyTtlMs: 60_000, presence: true, allowSubscribeForClient: true },
          // Clients may not subscribe here: the tail still works (server-side subscription).
          locked: {},
        },
      },
      log: { level: 'silent' },
      ...extra,
    },
  });
}

let server: RunningServer;
let cookie = '';
const logged: string[] = [];
const recordingLogger = {
  debug: (obj: object, msg?: string) => logged.push(`${msg} ${JSON.stringify(obj)}`),
  info: (obj: object, msg?: string) => logged.push(`${msg} ${JSON.stringify(obj)}`),
  warn: (obj: object, msg?: string) => logged.push(`${msg} ${JSON.stringify(obj)}`),
  error: (obj: object, msg?: string) => logged.push(`${msg} ${JSON.stringify(obj)}`),
};

beforeAll(async () => {
  server = await startServer(configWith({ admin: { password, token } }), { logger: recordingLogger });
});
afterAll(async () => {
  await server?.close();
});

async function call(
  path: string,
  init: { method?: string; body?: unknown; cookie?: string; bearer?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${server.url}/admin/api/${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.cookie === undefined ? {} : { cookie: init.cookie }),
      ...(init.bearer === undefined ? {} : { authorization: `Bearer ${init.bearer}` }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const codeOf = (json: Record<string, unknown>) => (json.error as { code?: string } | undefined)?.code;

async function client(user: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const jwt = await signToken({ sub: user }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  const connected = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ id: 1, connect: { token: jwt } }));
  await connected;
  return { ws, closed };
}

describe('admin console page', () => {
  it('serves the built page with a strict policy, and its assets', async () => {
    const res = await fetch(`${server.url}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    const script = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${server.url}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${server.url}/admin/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(codeOf((await missing.json()) as Record<string, unknown>)).toBe('admin_not_found');
  });
});

describe('admin authentication', () => {
  it('refuses the API without a session', async () => {
    const res = await call('stats');
    expect(res.status).toBe(401);
    expect(codeOf(res.json)).toBe('admin_unauthorized');
  });

  it('refuses a wrong password with admin_login_failed and sets no cookie', async () => {
    const res = await call('login', { body: { password: 'not-the-password' } });
    expect(res.status).toBe(401);
    expect(codeOf(res.json)).toBe('admin_login_failed');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a login that is not JSON or comes from another origin', async () => {
    const form = await fetch(`${server.url}/admin/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `password=${password}`,
    });
    expect(form.status).toBe(403);
    expect(codeOf((await form.json()) as Record<string, unknown>)).toBe('admin_forbidden');
    const foreign = await call('login', { body: { password }, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(codeOf(foreign.json)).toBe('admin_forbidden');
  });

  it('logs in with the password: an HttpOnly, SameSite=Strict cookie opens the API', async () => {
    const res = await call('login', { body: { password } });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^tidings_admin=\d+\.[\w-]{43}; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    cookie = setCookie.split(';')[0] as string;
    const stats = await call('stats', { cookie });
    expect(stats.status).toBe(200);
    expect(stats.json.engine).toEqual({ type: 'memory', ready: true });
    expect((stats.json.nodes as unknown[]).length).toBe(1);
  });

  it('accepts Bearer admin.token, and refuses the password as a bearer', async () => {
    expect((await call('session', { bearer: token })).status).toBe(200);
    const wrong = await call('session', { bearer: password });
    expect(wrong.status).toBe(401);
    expect(codeOf(wrong.json)).toBe('admin_unauthorized');
  });

  it('answers 405 with admin_method_not_allowed for a wrong method', async () => {
    const res = await call('stats', { method: 'DELETE', cookie });
    expect(res.status).toBe(405);
    expect(codeOf(res.json)).toBe('admin_method_not_allowed');
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('admin operations', () => {
  it('publishes, and the channel browser shows subscribers, presence and recent history', async () => {
    const alice = await client('alice');
    const subscribed = new Promise<void>((resolve) => alice.ws.once('message', () => resolve()));
    alice.ws.send(JSON.stringify({ id: 2, subscribe: { channel: 'room:1' } }));
    await subscribed;
    for (const n of [1, 2, 3]) {
      const res = await call('publish', { cookie, body: { channel: 'room:1', data: { n } } });
      expect(res.status).toBe(200);
      expect(res.json.offset).toBe(n);
    }
    const channels = await call('channels?pattern=room:*', { cookie });
    expect(channels.json.channels).toEqual([{ channel: 'room:1', numClients: 1 }]);
    const detail = await call('channel?channel=room:1', { cookie });
    expect(detail.json.subscribers).toBe(1);
    expect(detail.json.presence).toEqual([{ client: expect.any(String), user: 'alice' }]);
    const history = detail.json.history as { publications: Array<{ offset: number; data: unknown }> };
    expect(history.publications.map((p) => [p.offset, p.data])).toEqual([
      [3, { n: 3 }],
      [2, { n: 2 }],
      [1, { n: 1 }],
    ]);
    alice.ws.close();
  });

  it('refuses bad channels and bodies with stable codes', async () => {
    const unknown = await call('publish', { cookie, body: { channel: 'nope:1', data: 1 } });
    expect(unknown.status).toBe(400);
    expect(codeOf(unknown.json)).toBe('admin_bad_channel');
    const noData = await call('publish', { cookie, body: { channel: 'room:1' } });
    expect(codeOf(noData.json)).toBe('admin_bad_request');
    const noChannel = await call('channel', { cookie });
    expect(codeOf(noChannel.json)).toBe('admin_bad_request');
    const unknownEndpoint = await call('nothing', { cookie });
    expect(unknownEndpoint.status).toBe(404);
    expect(codeOf(unknownEndpoint.json)).toBe('admin_not_found');
  });

  it('tails a channel clients may not subscribe to, and refuses the tail without a session', async () => {
    const refused = await fetch(`${server.url}/admin/api/tail?channel=locked:x`);
    expect(refused.status).toBe(401);
    const controller = new AbortController();
    const res = await fetch(`${server.url}/admin/api/tail?channel=locked:x`, {
      headers: { cookie },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += Buffer.from(value).toString();
      }
    };
    await readUntil('event: connected');
    expect((await call('publish', { cookie, body: { channel: 'locked:x', data: { hello: 'tail' } } })).status).toBe(
      200,
    );
    await readUntil('"hello":"tail"');
    expect(text).toContain('"channel":"locked:x"');
    controller.abort();
  });

  it('disconnects a user with 3503, leaving other users connected', async () => {
    const bob = await client('bob');
    const carol = await client('carol');
    const res = await call('disconnect', { cookie, body: { user: 'bob' } });
    expect(res.status).toBe(200);
    expect(await bob.closed).toBe(3503);
    expect(carol.ws.readyState).toBe(WebSocket.OPEN);
    carol.ws.close();
  });

  it('logs out: the cookie is cleared', async () => {
    const res = await call('logout', { cookie, body: {} });
    expect(res.headers.get('set-cookie')).toContain('Max-Age=0');
  });
});

describe('admin audit log', () => {
  it('logs logins, publishes and disconnects, never the password, the token or a session', () => {
    const text = logged.join('\n');
    expect(text).toContain('admin: failed login');
    expect(text).toContain('admin: login');
    expect(text).toContain('admin: publish');
    expect(text).toContain('admin: disconnect');
    expect(text).not.toContain(password);
    expect(text).not.toContain(token);
    expect(text).not.toContain(cookie.split('=')[1] as string);
  });
});

describe('admin console off', () => {
  it('answers admin_disabled when no password or token is configured', async () => {
    const off = await startServer(configWith(), { logger: silentLogger });
    try {
      const res = await fetch(`${off.url}/admin/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password }),
      });
      expect(res.status).toBe(404);
      expect(codeOf((await res.json()) as Record<string, unknown>)).toBe('admin_disabled');
      expect((await fetch(`${off.url}/admin`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

describe('admin login throttle', () => {
  it('answers 429 admin_too_many_attempts after 10 failures, even for the right password', async () => {
    const other = await startServer(configWith({ admin: { password } }), { logger: silentLogger });
    try {
      const login = (pw: string) =>
        fetch(`${other.url}/admin/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: pw }),
        });
      for (let i = 0; i < 10; i++) expect((await login('wrong-password-x')).status).toBe(401);
      const blocked = await login(password);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(codeOf((await blocked.json()) as Record<string, unknown>)).toBe('admin_too_many_attempts');
    } finally {
      await other.close();
    }
  });
});
