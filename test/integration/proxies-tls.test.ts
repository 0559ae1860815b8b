// TLS termination at the proxy (issue 15): the snippets of docs/deploy.md put into deploy/nginx.conf
// and deploy/haproxy.cfg, in front of a Tidings node, with a certificate made for the test.
// Through each: TLS 1.0/1.1 refused and 1.2/1.3 accepted, `wss://` with the centrifuge SDK
// receiving a publication made through `https://…/api/publish`, and an SSE stream delivering while
// it is open.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type IncomingMessage } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureVersion, connect as tlsConnect } from 'node:tls';
import { signToken } from '@tidings/server';
import { Centrifuge } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { type ProxyProcess, type ProxyTls, startHaproxy, startNginx, until } from './proxy-processes.js';
import { requireTool } from './system-tools.js';

const secret = 'proxies-tls-secret-0123456789abcdef';
const apiKey = 'proxies-tls-api-key-0123456789';
let dir = '';
let tls: ProxyTls;
let ca: Buffer;
let node: RunningServer;
const proxies: Partial<Record<ProxyProcess['name'], ProxyProcess>> = {};

beforeAll(async () => {
  requireTool('nginx', 'nginx');
  requireTool('haproxy', 'haproxy');
  dir = mkdtempSync(join(tmpdir(), 'tidings-proxy-tls-'));
  tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), pemFile: join(dir, 'both.pem') };
  execFileSync(
    requireTool('openssl', 'openssl'),
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      tls.keyFile,
      '-out',
      tls.certFile,
    ]),
    { stdio: 'ignore' },
  );
  ca = readFileSync(tls.certFile);
  writeFileSync(tls.pemFile, Buffer.concat([ca, readFileSync(tls.keyFile)]));
  node = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        sse: { heartbeatIntervalMs: 20_000 },
        channels: { namespaces: { chat: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  // One node behind both upstream slots of the templates.
  proxies.nginx = await startNginx([node.port, node.port], tls);
  proxies.haproxy = await startHaproxy([node.port, node.port], tls);
  for (const p of [proxies.nginx, proxies.haproxy]) {
    await until(
      async () => (await get(p.port, '/readyz')).status === 200,
      10_000,
      () => `(${p.name} did not come up over TLS: ${p.output()})`,
    );
  }
}, 60_000);

afterAll(async () => {
  for (const p of Object.values(proxies)) await p?.stop();
  await node?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** An HTTPS request trusting the test certificate; resolves with status and body. */
function get(port: number, path: string, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-api-key': apiKey },
      },
      (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function handshake(port: number, version: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      minVersion: version,
      maxVersion: version,
      // Let this client offer old versions at all; the point is what the proxy answers.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'none');
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(`refused ${error.code ?? error.message}`));
  });
}

describe.each(['nginx', 'haproxy'] as const)('TLS terminated by %s with the docs/deploy.md snippet', (name) => {
  const port = () => {
    const p = proxies[name];
    if (p === undefined) throw new Error(`${name} is not running`);
    return p.port;
  };

  it('refuses TLS 1.0 and 1.1, accepts 1.2 and 1.3', async () => {
    expect(await handshake(port(), 'TLSv1')).toMatch(/^refused/);
    expect(await handshake(port(), 'TLSv1.1')).toMatch(/^refused/);
    expect(await handshake(port(), 'TLSv1.2')).toBe('TLSv1.2');
    expect(await handshake(port(), 'TLSv1.3')).toBe('TLSv1.3');
  });

  it('wss:// with the centrifuge SDK receives a publication made through https://…/api/publish', async () => {
    const channel = `chat:tls-${name}`;
    // The SDK constructs `new WebSocket(url, protocols)`: this one trusts the test certificate.
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { ca });
      }
    }
    const client = new Centrifuge(`wss://127.0.0.1:${port()}/connection/websocket`, {
      websocket: TrustingWebSocket,
      token: await signToken({ sub: 'tls' }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    });
    try {
      const sub = client.newSubscription(channel);
      const received = new Promise<unknown>((resolve) => sub.on('publication', (ctx) => resolve(ctx.data)));
      client.connect();
      sub.subscribe();
      await sub.ready(5000);
      const res = await get(port(), '/api/publish', 'POST', JSON.stringify({ channel, data: { via: name } }));
      expect(res.status, res.text).toBe(200);
      await expect(received).resolves.toEqual({ via: name });
    } finally {
      client.disconnect();
    }
  });

  it('passes an SSE stream over TLS unbuffered', async () => {
    const channel = `chat:tls-sse-${name}`;
    const token = await signToken({ sub: 'tls-sse' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
    let text = '';
    let onText: () => void = () => undefined;
    const req = httpsRequest({
      host: '127.0.0.1',
      port: port(),
      path: `/connection/sse?channel=${channel}`,
      ca,
      headers: { authorization: `Bearer ${token}` },
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    req.end();
    const res = await response;
    expect(res.statusCode).toBe(200);
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      text += c;
      onText();
    });
    const waitFor = (needle: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${needle}" in: ${text}`)), 5000);
        onText = () => {
          if (text.includes(needle)) {
            clearTimeout(timer);
            resolve();
          }
        };
        onText();
      });
    try {
      await waitFor('event: connected');
      const pub = await get(port(), '/api/publish', 'POST', JSON.stringify({ channel, data: { over: 'tls' } }));
      expect(pub.status).toBe(200);
      await waitFor('"over":"tls"');
    } finally {
      req.destroy();
    }
  });
});
