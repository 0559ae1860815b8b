// `tidings serve` with TLS, as users run it: SIGHUP makes the process re-read its certificate and
// key (issue 15). Needs `npm run build`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
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
});
