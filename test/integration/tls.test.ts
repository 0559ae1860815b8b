// TLS on the `tidings serve` listener (issue 15): TLS 1.0/1.1 refused, 1.2 and 1.3 accepted, and a
// certificate reload (what SIGHUP does) used by new handshakes while an open WebSocket stays up.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PeerCertificate, type SecureVersion, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

let dir = '';
let server: RunningServer;
const certFile = () => join(dir, 'cert.pem');
const keyFile = () => join(dir, 'key.pem');

function makeCert(cn: string): void {
  execFileSync(
    requireTool('openssl', 'openssl'),
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '1'].concat([
      '-keyout',
      join(dir, `${cn}.key`),
      '-out',
      join(dir, `${cn}.crt`),
    ]),
    { stdio: 'ignore' },
  );
  copyFileSync(join(dir, `${cn}.key`), keyFile());
  copyFileSync(join(dir, `${cn}.crt`), certFile());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tidings-tls-'));
  makeCert('first.test');
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0, tls: { certFile: certFile(), keyFile: keyFile() } },
        client: { allowAnonymous: true },
        api: { keys: ['tls-api-key-0123456789abcdef'] },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
}, 60_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Handshakes with exactly `version`; resolves with the negotiated version and the server's CN, or the error code. */
function handshake(version: SecureVersion): Promise<{ version?: string; cn?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: server.port,
      minVersion: version,
      maxVersion: version,
      rejectUnauthorized: false,
      // Let this client offer old versions at all; the point is what the server answers.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      resolve({ version: socket.getProtocol() ?? undefined, cn: String(cert.subject?.CN) });
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

describe('TLS listener', () => {
  it('refuses TLS 1.0 and 1.1, accepts 1.2 and 1.3', async () => {
    for (const old of ['TLSv1', 'TLSv1.1'] as const) {
      const result = await handshake(old);
      expect(result.version, old).toBeUndefined();
      // The server answers with a protocol_version alert (RFC 8446 §6.2).
      expect(result.error, old).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/);
    }
    expect((await handshake('TLSv1.2')).version).toBe('TLSv1.2');
    expect((await handshake('TLSv1.3')).version).toBe('TLSv1.3');
    const ready = await new Promise<number>((resolve, reject) =>
      httpsGet(`https://127.0.0.1:${server.port}/readyz`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).once('error', reject),
    );
    expect(ready).toBe(200);
  }, 60_000);

  it('a reload serves the new certificate to new handshakes and keeps an open WebSocket', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/connection/websocket`, { rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let closed = false;
    ws.once('close', () => {
      closed = true;
    });
    expect((await handshake('TLSv1.3')).cn).toBe('first.test');
    makeCert('second.test');
    server.reloadTls();
    expect((await handshake('TLSv1.3')).cn).toBe('second.test');
    // The open connection still works: a connect command gets its reply.
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send(JSON.stringify({ id: 1, connect: {} }));
    expect(JSON.parse((await reply).split('\n')[0] ?? '{}')).toMatchObject({ id: 1 });
    expect(closed).toBe(false);
    ws.close();
  }, 60_000);

  it('a reload with a key that does not match keeps the previous certificate', async () => {
    const before = (await handshake('TLSv1.3')).cn;
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-out', keyFile()], { stdio: 'ignore' });
    expect(() => server.reloadTls()).toThrow(/http\.tls/);
    expect((await handshake('TLSv1.3')).cn).toBe(before);
  }, 60_000);
});
