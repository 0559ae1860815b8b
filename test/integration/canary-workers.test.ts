// `tidings serve --workers 2` with the canary: each worker's canary clients dial the shared port,
// so the kernel may hand them to the other worker. Every worker accepts the one canary secret the
// primary made, so every probe connects wherever it lands and delivers (through the primary's
// engine when it landed on the other worker); the aggregated scrape shows both canaries.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
const transports = ['hub', 'websocket', 'sse', 'http_stream'];
let proc: ChildProcess | undefined;

afterAll(() => {
  if (proc !== undefined && proc.exitCode === null) proc.kill('SIGKILL');
});

function start(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-canary-workers-'));
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      metrics: { enabled: true, defaultMetrics: false },
      canary: { enabled: true, intervalMs: 400, timeoutMs: 400 },
      log: { level: 'info' },
    }),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--workers', '2'], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 30 s\n${out}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string; worker?: number };
        if (entry.msg === 'listening' && entry.url !== undefined && entry.worker === undefined) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
  });
}

async function scrape(url: string): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  const res = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

it('every canary probe of both workers connects and delivers', async () => {
  const url = await start();
  let s = new Map<string, number>();
  const deadline = Date.now() + 30_000;
  const delivered = (t: string) => s.get(`tidings_canary_latency_seconds_count{transport="${t}"}`) ?? 0;
  while (!transports.every((t) => delivered(t) >= 8)) {
    if (Date.now() > deadline) throw new Error(`too few canary deliveries: ${transports.map(delivered)}`);
    await new Promise((r) => setTimeout(r, 200));
    s = await scrape(url);
  }
  for (const t of transports) {
    // No probe was ever refused or left unconnected, whichever worker it landed on.
    expect(s.get(`tidings_canary_failures_total{transport="${t}",reason="disconnected"}`)).toBe(0);
  }
  // Two canaries (one per worker): two canary WebSocket clients and two hub sessions on the host.
  expect(s.get('tidings_client_connections{transport="websocket",codec="json"}')).toBe(2);
  expect(s.get('tidings_client_connections{transport="hub",codec="json"}')).toBe(2);
  proc?.kill('SIGTERM');
});
