// `tidings serve` with no tracing config but the standard OTEL_EXPORTER_OTLP_ENDPOINT: tracing
// turns on, the exporter posts to <endpoint>/v1/traces, and what is buffered is exported when the
// server stops on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_') && !k.startsWith('OTEL_')),
);
const apiKey = 'tracing-env-api-key-0123456789';
let proc: ChildProcess | undefined;
let receiver: Server | undefined;

afterAll(() => {
  if (proc !== undefined && proc.exitCode === null) proc.kill('SIGKILL');
  receiver?.close();
});

it('exports to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces and flushes on SIGTERM', async () => {
  const posts: Array<{ path: string; body: string }> = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  const dir = mkdtempSync(join(tmpdir(), 'tidings-tracing-env-'));
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({ http: { host: '127.0.0.1', port: 0 }, api: { keys: [apiKey] }, log: { level: 'info' } }),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--config', file], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 30 s\n${out}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /"msg":"listening".*?"url":"([^"]+)"|"url":"([^"]+)".*?"msg":"listening"/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve((m[1] ?? m[2]) as string);
      }
    });
  });
  expect(out).toContain('tracing on');
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: 'env', data: { x: 1 } }),
  });
  expect(res.status).toBe(200);
  child.kill('SIGTERM');
  await once(child, 'exit');
  const body = posts.map((p) => p.body).join('\n');
  expect(posts.every((p) => p.path === '/v1/traces')).toBe(true);
  expect(body).toContain('"name":"POST /api/publish"');
  expect(body).toContain('"name":"tidings.engine.publish"');
});
