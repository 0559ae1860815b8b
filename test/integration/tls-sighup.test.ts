// `tidings serve` with TLS, as users run it: SIGHUP makes the process re-read its certificates and
// keys, on the HTTP listener and on the MQTT/TLS listener (issue 15); the MQTT/TLS listener, like
// the HTTP one, refuses TLS 1.0 and 1.1. Needs `npm run build`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureVersion, connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const dir = mkdtempSync(join(tmpdir(), 'tidings-sighup-'));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
let proc: ChildProcess | undefined;

afterAll(() => {
  proc?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function makeCert(cn: string): void {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-days', '1'].concat([
      '-keyout',
      join(dir, 'new.key'),
      '-out',
      join(dir, 'new.crt'),
    ]),
    { stdio: 'ignore' },
  );
  copyFileSync(join(dir, 'new.key'), join(dir, 'key.pem'));
  copyFileSync(join(dir, 'new.crt'), join(dir, 'cert.pem'));
}

function peerCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().subject?.CN));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** Handshakes with exactly `version`: the negotiated version, or the error code. */
function handshake(port: number, version: SecureVersion): Promise<{ version?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      minVersion: version,
      maxVersion: version,
      rejectUnauthorized: false,
      // Let this client offer old versions at all; the point is what the server answers.
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    socket.once('secureConnect', () => {
      resolve({ version: socket.getProtocol() ?? undefined });
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function start(config: object): { child: ChildProcess; waitFor: (pattern: RegExp) => Promise<RegExpMatchArray> } {
  const file = join(dir, 'tidings.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
    env: { ...env, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
  });
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (let i = 0; i < 300; i++) {
      const match = pattern.exec(out);
      if (match) return match;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${pattern} in 30 s: ${out}`);
  };
  return { child, waitFor };
}

describe('tidings serve: SIGHUP reloads the TLS certificate', () => {
  it('serves the new certificate after SIGHUP and logs the reload', async () => {
    makeCert('before.test');
    const config = join(dir, 'tidings.json');
    writeFileSync(
      config,
      JSON.stringify({
        http: { host: '127.0.0.1', port: 0, tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } },
        auth: { hmacSecret: 'sighup-test-secret-0123456789abcdef' },
        api: { keys: ['sighup-api-key-0123456789ab'] },
      }),
    );
    const child = spawn(process.execPath, [bin, 'serve', '--config', config], {
      env: { ...env, TIDINGS_LOG_PRETTY: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc = child;
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
    });
    const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
      for (let i = 0; i < 300; i++) {
        const match = pattern.exec(out);
        if (match) return match;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${pattern} in 30 s: ${out}`);
    };
    const port = Number((await waitFor(/"url":"https:\/\/[^"]*:(\d+)"/))[1]);
    expect(await peerCn(port)).toBe('before.test');
    makeCert('after.test');
    child.kill('SIGHUP');
    await waitFor(/tls: certificate reloaded/);
    expect(await peerCn(port)).toBe('after.test');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 60_000);

  it('MQTT over TLS: TLS 1.2+ only, and SIGHUP serves the new certificate while an open MQTT connection stays up', async () => {
    makeCert('mqtt-before.test');
    const tlsPort = await freePort();
    const { child, waitFor } = start({
      http: { host: '127.0.0.1', port: 0 },
      auth: { hmacSecret: 'sighup-test-secret-0123456789abcdef' },
      api: { keys: ['sighup-api-key-0123456789ab'] },
      mqtt: {
        enabled: true,
        port: await freePort(),
        tls: { port: tlsPort, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
      },
      channels: { namespaces: { chat: { allowSubscribeForClient: true, allowPublishForClient: true } } },
    });
    await waitFor(/mqtt listening/);
    for (const old of ['TLSv1', 'TLSv1.1'] as const) {
      const result = await handshake(tlsPort, old);
      expect(result.version, old).toBeUndefined();
      expect(result.error, old).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/);
    }
    expect((await handshake(tlsPort, 'TLSv1.2')).version).toBe('TLSv1.2');
    expect(await peerCn(tlsPort)).toBe('mqtt-before.test');
    // An MQTT client logged in with an API key stays connected across the reload.
    const client = mqtt.connect(`mqtts://127.0.0.1:${tlsPort}`, {
      username: 'api-key',
      password: 'sighup-api-key-0123456789ab',
      rejectUnauthorized: false,
      reconnectPeriod: 0,
      protocolVersion: 5,
    });
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    let closes = 0;
    client.on('close', () => closes++);
    makeCert('mqtt-after.test');
    child.kill('SIGHUP');
    await waitFor(/tls: certificate reloaded/);
    expect(await peerCn(tlsPort)).toBe('mqtt-after.test');
    await client.subscribeAsync('chat/sighup', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
    await client.publishAsync('chat/sighup', '"still here"', { qos: 1 });
    expect(await got).toBe('"still here"');
    expect(closes).toBe(0);
    await client.endAsync();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 60_000);
});
