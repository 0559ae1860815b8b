// HTTP listener limits of `tidings serve`: header size (431), slow-loris headers timeout (408),
// long-lived streams unaffected by the request timeout, and a config that cannot work.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const apiKey = 'limits-api-key-0123456789';
const servers: RunningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const configOf = (http: Record<string, number> = {}) =>
  loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0, ...http },
      client: { allowAnonymous: true },
      api: { keys: [apiKey] },
      channels: { namespaces: { live: { allowSubscribeForAnonymous: true } } },
      log: { level: 'error' },
    },
  });

async function start(http: Record<string, number> = {}): Promise<RunningServer> {
  const server = await startServer(configOf(http), { logger: silentLogger });
  servers.push(server);
  return server;
}

/** Sends `head` over a raw socket; resolves with everything the server wrote before closing. */
function rawExchange(port: number, head: string | ((write: (s: string) => void) => void)): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => resolve(text));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(text) : reject(error)));
    if (typeof head === 'string') socket.write(head);
    else head((s) => socket.write(s));
  });
}

describe('HTTP limits', () => {
  it('answers 431 to one oversized header and to a flood of small ones', async () => {
    const server = await start({ maxHeaderBytes: 8 * 1024 });
    const big = await rawExchange(
      server.port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join('');
    const flood = await rawExchange(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    expect(flood).toMatch(/^HTTP\/1\.1 431 /);
    const fine = await fetch(`${server.url}/healthz`, { headers: { 'X-Small': 'a'.repeat(4_000) } });
    expect(fine.status).toBe(200);
  });

  it('refuses oversize queries: a huge URL gets 431, too many channels get 106 before any stream starts', async () => {
    const server = await start();
    const many = (n: number) => Array.from({ length: n }, (_, i) => `channel=live:c${i}`).join('&');
    expect((await fetch(`${server.url}/connection/sse?${many(3_000)}`)).status).toBe(431);
    const tooMany = await fetch(`${server.url}/connection/stream?${many(300)}`);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual({ error: { code: 106, message: 'limit exceeded' } });
  });

  it('closes a client that trickles its headers (slow loris) after http.headersTimeoutMs', async () => {
    const server = await start({ headersTimeoutMs: 600, requestTimeoutMs: 5_000 });
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const answer = await rawExchange(server.port, (write) => {
      write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      let i = 0;
      timer = setInterval(() => write(`X-Slow-${i++}: a\r\n`), 100);
    });
    clearInterval(timer);
    const elapsed = Date.now() - started;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('keeps an NDJSON stream open past http.requestTimeoutMs and delivers on it', async () => {
    const server = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const controller = new AbortController();
    const res = await fetch(`${server.url}/connection/stream?channel=live:a`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const published = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'live:a', data: { late: true } }),
    });
    expect(published.status).toBe(200);
    let text = '';
    while (!text.includes('"late":true')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"type":"publication"');
    controller.abort();
  });

  it('refuses to start when http.headersTimeoutMs exceeds http.requestTimeoutMs', async () => {
    await expect(
      startServer(configOf({ headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 }), { logger: silentLogger }),
    ).rejects.toMatchObject({ code: 'TIDINGS_ERR_CONFIG', message: expect.stringContaining('http.headersTimeoutMs') });
  });
});
