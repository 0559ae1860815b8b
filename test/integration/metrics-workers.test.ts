// `tidings serve --workers 2` with metrics: whichever worker accepts a scrape, /metrics shows the
// whole host, aggregated by the primary (connections summed over both workers, both nodes listed).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '@tidings/server';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
const secret = 'metrics-workers-secret-0123456789abcdef';
let proc: ChildProcess | undefined;
const sockets: WebSocket[] = [];

afterAll(() => {
  for (const ws of sockets) ws.terminate();
  if (proc !== undefined && proc.exitCode === null) proc.kill('SIGKILL');
});

function start(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-metrics-workers-'));
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      metrics: { enabled: true },
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

it('one scrape shows both workers', async () => {
  const url = await start();
  const token = await signToken({ sub: 'w' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  for (let i = 0; i < 6; i++) {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/connection/websocket`);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, connect: { token } })));
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });
  }
  // Several scrapes on new connections: round-robin accept hands them to both workers.
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('tidings_client_connections{transport="websocket",codec="json"} 6');
    expect(text.split('\n').filter((l) => l.startsWith('tidings_node_info{'))).toHaveLength(2);
    expect(text).toContain('tidings_engine_ready 1');
  }
});
