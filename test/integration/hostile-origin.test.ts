// The Origin and CORS battery of issue 15: every browser transport (WebSocket upgrade, SSE,
// NDJSON, poll, the SDK's HTTP emulation) against a matrix of look-alike origins, in raw requests,
// and then in real Chromium, where the browser's own CORS enforcement decides what a page from a
// foreign origin can do. The server API is for backends: no origin gets CORS access to it.
import { request as httpRequest } from 'node:http';
import { signToken } from '@tidings/server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireFile } from './system-tools.js';

const secret = 'hostile-origin-secret-0123456789abcdef';
const apiKey = 'hostile-origin-api-key-0123456789';
const allowedOrigins = ['https://app.example.com', 'https://*.trusted.test', 'http://allowed.test'];

let server: RunningServer;
let token: string;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        websocket: { allowedOrigins },
        channels: { namespaces: { chat: { allowSubscribeForClient: true, historySize: 10, historyTtlMs: 60_000 } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  token = await signToken({ sub: 'origin' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
});
afterAll(async () => {
  await server?.close();
});

const allowed = [
  'https://app.example.com',
  'HTTPS://APP.EXAMPLE.COM',
  'https://a.trusted.test',
  'https://a.b.trusted.test',
];
const refused = [
  'https://app.example.com.evil.test', // suffix attack
  'https://evilapp.example.com', // prefix attack
  'http://app.example.com', // other scheme
  'https://app.example.com:444', // other port
  'https://app.example.com/', // not an origin a browser sends
  'https://app.example.com@evil.test', // userinfo trick
  'null', // sandboxed iframes, file: pages
  'https://trusted.test', // a wildcard needs a subdomain
  'https://eviltrusted.test',
  'https://xn--pp-8kc.example.com', // "аpp" with a Cyrillic а, as a browser sends it (punycode)
  'https://*.trusted.test', // the pattern itself
  '',
];

/** Status and headers of one raw HTTP request (Node's fetch would refuse to set Origin freely). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
    });
    req.on('upgrade', (res, socket) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      socket.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

const wsHeaders = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

const endpoints: Array<{ name: string; method: string; path: string; headers?: Record<string, string>; ok: number }> = [
  { name: 'WebSocket upgrade', method: 'GET', path: '/connection/websocket', headers: wsHeaders, ok: 101 },
  { name: 'SSE', method: 'GET', path: '/connection/sse?channel=chat:o', ok: 200 },
  { name: 'NDJSON', method: 'GET', path: '/connection/stream?channel=chat:o', ok: 200 },
  { name: 'poll', method: 'GET', path: '/connection/poll?channel=chat:o&wait=0', ok: 200 },
  { name: 'SSE preflight', method: 'OPTIONS', path: '/connection/sse?channel=chat:o', ok: 204 },
];

describe('Origin allow-list in raw requests', () => {
  let tried = 0;
  for (const e of endpoints) {
    it(`${e.name}: allowed origins get ${e.ok} with CORS echoing them, look-alikes get 403`, async () => {
      const auth = e.method === 'OPTIONS' ? {} : { authorization: `Bearer ${token}` };
      for (const origin of allowed) {
        tried++;
        const res = await raw(e.method, e.path, { ...auth, ...e.headers, origin });
        expect(res.status, `${e.name} ${origin}`).toBe(e.ok);
        if (e.ok !== 101) {
          expect(res.headers['access-control-allow-origin'], origin).toBe(origin);
          expect(res.headers.vary, origin).toContain('Origin');
        }
      }
      for (const origin of refused) {
        tried++;
        const res = await raw(e.method, e.path, { ...auth, ...e.headers, origin });
        expect(res.status, `origin "${origin}"`).toBe(403);
        expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
      }
    });
  }

  it('the server API grants no cross-origin access to any origin, allowed ones included', async () => {
    for (const origin of [...allowed, ...refused.slice(0, 3)]) {
      tried++;
      const pre = await raw('OPTIONS', '/api/publish', {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-api-key',
      });
      expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
      expect(pre.headers['access-control-allow-headers'], origin).toBeUndefined();
    }
    console.log(`Origin battery: ${tried} raw requests`);
  });
});

describe('Origin allow-list in real Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    requireFile('/usr/bin/chromium', 'chromium');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        // Pages fulfilled by playwright count as public: let them reach the loopback server.
        '--disable-features=LocalNetworkAccessChecks',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** What a page on `origin` manages to do against the server. */
  async function tryFrom(origin: string) {
    const page = await browser.newPage();
    await page.route(`${origin}/`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>o</title>' }),
    );
    await page.goto(`${origin}/`);
    const base = `http://127.0.0.1:${server.port}`;
    const result = await page.evaluate(
      async ({ base, token, apiKey }) => {
        const ws = await new Promise<string>((resolve) => {
          const s = new WebSocket(`${base.replace('http', 'ws')}/connection/websocket`);
          s.onopen = () => {
            s.close();
            resolve('open');
          };
          s.onerror = () => resolve('refused');
          setTimeout(() => resolve('timeout'), 5000);
        });
        const sse = await new Promise<string>((resolve) => {
          const es = new EventSource(`${base}/connection/sse?channel=chat:o&token=${token}`);
          es.addEventListener('connected', () => {
            es.close();
            resolve('connected');
          });
          es.onerror = () => {
            es.close();
            resolve('refused');
          };
          setTimeout(() => resolve('timeout'), 5000);
        });
        const readable = async (url: string, init: RequestInit) => {
          try {
            const res = await fetch(url, init);
            const text = await res.text();
            return `read ${res.status} ${text.length > 0 ? 'body' : 'empty'}`;
          } catch {
            return 'blocked';
          }
        };
        const poll = await readable(`${base}/connection/poll?channel=chat:o&wait=0`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const api = await readable(`${base}/api/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
          body: JSON.stringify({ channel: 'chat:o', data: { from: 'page' } }),
        });
        return { ws, sse, poll, api };
      },
      { base, token, apiKey },
    );
    await page.close();
    return result;
  }

  it('an allowed origin uses WebSocket, SSE and poll; a foreign one is refused on each; neither reaches the API', async () => {
    const fromAllowed = await tryFrom('http://allowed.test');
    const fromForeign = await tryFrom('http://evil.test');
    expect(fromAllowed.ws).toBe('open');
    expect(fromAllowed.poll).toMatch(/^read 200 body$/);
    expect(fromForeign.ws).toBe('refused');
    expect(fromForeign.sse).toBe('refused');
    expect(fromForeign.poll).toBe('blocked');
    expect(fromAllowed.api).toBe('blocked');
    expect(fromForeign.api).toBe('blocked');
    // EventSource cannot send headers: the token rides in the query (docs/transports.md).
    expect(fromAllowed.sse).toBe('connected');
  });
});
