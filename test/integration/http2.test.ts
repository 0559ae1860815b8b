// HTTP/2 in `tidings serve`: TLS with ALPN (h2 and HTTP/1.1 on one port, WebSocket over
// HTTP/1.1), cleartext h2c with prior knowledge, and streams read event by event over h2.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type ClientHttp2Session, constants, connect as h2connect } from 'node:http2';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const apiKey = 'http2-api-key-0123456789abc';
let dir = '';
let certFile = '';
let keyFile = '';
const servers: RunningServer[] = [];
const sessions: ClientHttp2Session[] = [];

beforeAll(() => {
  requireTool('openssl', 'openssl');
  dir = mkdtempSync(join(tmpdir(), 'tidings-h2-'));
  certFile = join(dir, 'c');
  keyFile = join(dir, 'k');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});

async function start(http: Record<string, unknown>): Promise<RunningServer> {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0, ...http },
      client: { allowAnonymous: true },
      api: { keys: [apiKey] },
      channels: { namespaces: { live: { allowSubscribeForAnonymous: true } } },
      log: { level: 'error' },
    },
  });
  const server = await startServer(config, { logger: silentLogger });
  servers.push(server);
  return server;
}

function session(url: string): ClientHttp2Session {
  const s = h2connect(url, { rejectUnauthorized: false });
  s.on('error', () => {});
  sessions.push(s);
  return s;
}

/** An h2 request; resolves with status, headers and the whole body. */
function h2request(s: ClientHttp2Session, path: string, method = 'GET', body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const headers = { ':path': path, ':method': method, 'x-api-key': apiKey, 'content-type': 'application/json' };
    const req = s.request(headers, { endStream: body === undefined });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[constants.HTTP2_HEADER_STATUS]);
    });
    req.on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => resolve({ status, body: text }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** Opens an NDJSON stream over h2; `next()` resolves with the next line while the stream stays open. */
function h2stream(s: ClientHttp2Session, path: string) {
  const req = s.request({ ':path': path });
  const lines: string[] = [];
  let buffer = '';
  let ended = false;
  let wake: (() => void) | undefined;
  req.setEncoding('utf8');
  req.on('data', (c: string) => {
    buffer += c;
    let i = buffer.indexOf('\n');
    while (i !== -1) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
    wake?.();
  });
  req.on('end', () => {
    ended = true;
    wake?.();
  });
  return {
    isEnded: () => ended,
    async next(): Promise<Record<string, unknown>> {
      const deadline = Date.now() + 3_000;
      while (lines.length === 0) {
        if (ended || Date.now() > deadline) throw new Error('no line');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return JSON.parse(lines.shift() ?? '') as Record<string, unknown>;
    },
  };
}

const publishBody = (n: number) => JSON.stringify({ channel: 'live:a', data: { n } });

describe('HTTP/2 over TLS (ALPN) with HTTP/1.1 on the same port', () => {
  it('streams NDJSON over h2 line by line and accepts POST /api/publish over h2', async () => {
    const server = await start({ tls: { certFile, keyFile } });
    expect(server.url).toMatch(/^https:/);
    const s = session(server.url);
    const stream = h2stream(s, '/connection/stream?channel=live:a');
    expect((await stream.next()).type).toBe('connected');
    const published = await h2request(s, '/api/publish', 'POST', publishBody(1));
    expect(published.status).toBe(200);
    const line = await stream.next();
    expect(line).toMatchObject({ type: 'publication', channel: 'live:a', data: { n: 1 } });
    expect(stream.isEnded()).toBe(false);
    expect((await h2request(s, '/healthz')).status).toBe(200);
  });

  it('still serves HTTP/1.1 over TLS, and the WebSocket upgrade', async () => {
    const server = await start({ tls: { certFile, keyFile } });
    const h1 = await new Promise<{ status: number; version: string }>((resolve, reject) => {
      httpsGet(`${server.url}/healthz`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, version: res.httpVersion });
      }).on('error', reject);
    });
    expect(h1).toEqual({ status: 200, version: '1.1' });
    const ws = new WebSocket(`${server.url.replace('https', 'wss')}/connection/websocket`, {
      rejectUnauthorized: false,
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ id: 1, connect: {} })));
      ws.on('message', (data) => resolve(String(data)));
      ws.on('error', reject);
    });
    expect(JSON.parse(reply)).toMatchObject({ id: 1, connect: { client: expect.any(String) } });
    ws.close();
  });

  it('serves curl --http2 a stream it reads before the end', async () => {
    // Debian's curl has HTTP/2; one without it fails here rather than passing having checked nothing.
    expect(execFileSync(requireTool('curl', 'curl'), ['-V'], { encoding: 'utf8' })).toContain('HTTP2');
    const server = await start({ tls: { certFile, keyFile } });
    const curl = spawn('curl', ['--http2', '-k', '-sN', '-w', '', `${server.url}/connection/stream?channel=live:a`]);
    const first = await new Promise<string>((resolve) => {
      let text = '';
      curl.stdout.setEncoding('utf8');
      curl.stdout.on('data', (c: string) => {
        text += c;
        if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
      });
    });
    expect(curl.exitCode).toBeNull();
    expect(JSON.parse(first)).toMatchObject({ type: 'connected' });
    curl.kill();
  });

  it('advertises http.maxStreamsPerConnection as SETTINGS_MAX_CONCURRENT_STREAMS', async () => {
    const server = await start({ tls: { certFile, keyFile }, maxStreamsPerConnection: 7 });
    const s = session(server.url);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      s.once('remoteSettings', resolve),
    );
    expect(settings.maxConcurrentStreams).toBe(7);
  });
});

describe('h2c (cleartext HTTP/2, prior knowledge)', () => {
  it('serves the API and streams over h2 without TLS', async () => {
    const server = await start({ h2c: true });
    const s = session(server.url);
    expect((await h2request(s, '/healthz')).status).toBe(200);
    const stream = h2stream(s, '/connection/stream?channel=live:a');
    expect((await stream.next()).type).toBe('connected');
    expect((await h2request(s, '/api/publish', 'POST', publishBody(2))).status).toBe(200);
    expect(await stream.next()).toMatchObject({ type: 'publication', data: { n: 2 } });
  });

  it('rejects h2c together with tls', () => {
    expect(() => loadConfig({ base: { http: { h2c: true, tls: { certFile, keyFile } } } })).toThrow(/h2c/);
  });
});
