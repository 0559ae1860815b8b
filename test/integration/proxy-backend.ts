// A real application backend for the proxy tests: a node:http server on port 0 that answers
// Tidings' (Centrifugo-format) proxy requests the way a small app would: it knows users by their
// session cookie, guards the `guarded:` namespace, rewrites chat publications and answers RPCs.
// Some inputs make it misbehave on purpose: slow, HTTP 500, or 503 once (to prove retries).
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/** One request the backend received. */
export interface BackendRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** The running backend. */
export interface ProxyBackend {
  readonly url: string;
  readonly requests: BackendRequest[];
  /** Requests to one path, e.g. "/rpc". */
  calls(path: string): BackendRequest[];
  close(): Promise<void>;
}

/** Session cookie → user, as the application's own session store would hold it. */
const sessions: Readonly<Record<string, string>> = { 'alice-session': 'alice', 'bob-session': 'bob' };

type Answer = { status?: number; body?: unknown; delayMs?: number };

function cookie(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name) return v;
  }
  return undefined;
}

const flaky = new Set<string>();

function answer(path: string, body: Record<string, unknown>, headers: IncomingHttpHeaders): Answer {
  if (headers['x-backend-secret'] !== 'shared-backend-secret') return { status: 401, body: { error: 'who are you' } };
  const data = body.data as Record<string, unknown> | undefined;
  switch (path) {
    case '/connect': {
      const sid = cookie(headers, 'session');
      if (sid === 'flaky-session' && !flaky.has(body.client as string)) {
        flaky.add(body.client as string);
        return { status: 503 };
      }
      const user = sid === 'flaky-session' ? 'flaky' : sessions[sid ?? ''];
      if (user === undefined) return { body: { error: { code: 1401, message: 'please log in' } } };
      if (user === 'bob') return { body: { disconnect: { code: 4501, reason: 'bob is banned' } } };
      const short = (headers['x-session-ttl'] as string | undefined) !== undefined;
      return {
        body: {
          result: {
            user,
            info: { name: user.toUpperCase() },
            data: { greeting: `hello ${user}` },
            channels: [`feed:${user}`],
            meta: { plan: 'pro' },
            ...(short ? { expire_at: Math.floor(Date.now() / 1000) + 2 } : {}),
          },
        },
      };
    }
    case '/refresh':
      return { body: { result: { expire_at: Math.floor(Date.now() / 1000) + 60 } } };
    case '/subscribe': {
      const channel = body.channel as string;
      if (channel === 'guarded:slow') return { delayMs: 3000, body: { result: {} } };
      if (channel === 'guarded:boom') return { status: 500 };
      if (channel === 'guarded:short') return { body: { result: { expire_at: Math.floor(Date.now() / 1000) + 2 } } };
      if (!channel.endsWith(`#${body.user as string}`) && channel !== 'guarded:lobby') {
        return { body: { error: { code: 1403, message: 'not your room' } } };
      }
      return { body: { result: { data: { welcome: channel }, info: { role: 'member' } } } };
    }
    case '/sub_refresh':
      return { body: { result: { expire_at: Math.floor(Date.now() / 1000) + 60 } } };
    case '/publish': {
      const text = String(data?.text ?? '');
      if (text.includes('spam')) return { body: { error: { code: 1429, message: 'no spam' } } };
      if (text === 'fail') return { status: 500 };
      return { body: { result: { data: { text: text.toUpperCase(), by: body.user, plan: body.meta } } } };
    }
    case '/rpc': {
      const method = body.method as string;
      if (method === 'slow') return { delayMs: 3000, body: { result: {} } };
      if (method === 'fail') return { status: 500 };
      if (typeof body.b64data === 'string') {
        const bytes = Buffer.from(body.b64data, 'base64');
        return { body: { result: { b64data: Buffer.from([...bytes].reverse()).toString('base64') } } };
      }
      return { body: { result: { data: { method, user: body.user, echo: data ?? null } } } };
    }
    case '/guarded-rpc':
      return { body: { result: { data: { namespace: 'guarded', method: body.method } } } };
    default:
      return { status: 404 };
  }
}

// The SDK's browser bundle: its package exports name neither dist/ nor package.json, so walk up
// from the resolved main entry (…/centrifuge/build/index.js) to the package root.
const sdkPath = join(dirname(dirname(createRequire(import.meta.url).resolve('centrifuge'))), 'dist/centrifuge.js');

/**
 * The app's browser side: `/login?as=alice` sets an HttpOnly session cookie (the page's script
 * cannot read it), `/page?ws=<url>` connects the centrifuge SDK to Tidings with no token at all.
 */
function page(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://backend');
  if (url.pathname === '/login') {
    const sid = `${url.searchParams.get('as') ?? ''}-session`;
    res.writeHead(302, { 'set-cookie': `session=${sid}; HttpOnly; Path=/; SameSite=Lax`, location: '/' });
    res.end();
  } else if (url.pathname === '/centrifuge.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(sdkPath));
  } else if (url.pathname === '/page') {
    const ws = JSON.stringify(url.searchParams.get('ws') ?? '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<title>app</title><p id="status">starting</p><p id="greeting"></p><p id="rpc"></p>
<script src="/centrifuge.js"></script>
<script>
  const client = new Centrifuge(${ws});
  const status = document.getElementById('status');
  client.on('connected', async (ctx) => {
    status.textContent = 'connected';
    document.getElementById('greeting').textContent = ctx.data.greeting;
    const reply = await client.rpc('whoami', {});
    document.getElementById('rpc').textContent = 'rpc user ' + reply.data.user;
  });
  client.on('disconnected', (ctx) => { status.textContent = 'disconnected ' + ctx.code; });
  client.connect();
</script>`);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('home');
  }
}

/** Starts the backend on 127.0.0.1, port 0. */
export async function startProxyBackend(): Promise<ProxyBackend> {
  const requests: BackendRequest[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET') return page(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const path = req.url ?? '/';
      requests.push({ path, headers: req.headers, body });
      const a = answer(path, body, req.headers);
      const send = () => {
        if (res.destroyed) return;
        const text = a.body === undefined ? '' : JSON.stringify(a.body);
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json' });
        res.end(text);
      };
      if (a.delayMs === undefined) send();
      else setTimeout(send, a.delayMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
