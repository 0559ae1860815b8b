// `tidings serve --workers 2` with a state channel: the documents live in the primary's memory
// engine (the IPC engine's state store), so merge patches published through either worker build
// one document, and every worker serves the same snapshot. Each curl is a new connection, so the
// kernel spreads them over both workers.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { apiKey, requireBuild } from './cluster-harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
let proc: ChildProcess | undefined;

afterAll(() => {
  if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});

function start(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-state-workers-'));
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      api: { keys: [apiKey] },
      channels: { namespaces: { st: { state: true } } },
      log: { level: 'info' },
    }),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--port', '0', '--workers', '2'], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 20 s\n${out}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /"msg":"listening".*?"url":"([^"]+)"/.exec(out) ?? /"url":"([^"]+)".*?"msg":"listening"/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}\n${out}`)));
  });
}

const curl = (args: string[]) => {
  const r = spawnSync('curl', ['-sS', '-H', `X-API-Key: ${apiKey}`, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
  return r.stdout;
};

it('merge patches through both workers build one document, and every worker serves it', async () => {
  requireBuild();
  const url = await start();
  for (let i = 0; i < 12; i++) {
    const body = JSON.stringify({ channel: 'st:w', data: { [`f${i}`]: i }, tags: { key: 'k', patch: 'merge' } });
    const out = JSON.parse(curl(['-H', 'Content-Type: application/json', '-d', body, `${url}/api/publish`]));
    expect(out.result?.offset).toBe(i + 1);
  }
  const want = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, i]));
  for (let i = 0; i < 6; i++) {
    const got = JSON.parse(curl([`${url}/api/state?channel=st:w&key=k`]));
    expect(got).toMatchObject({ key: 'k', offset: 12, data: want });
  }
}, 60_000);
