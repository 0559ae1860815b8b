// `tidings bench` as users run it (the built binary, after `npm run build`) against an in-process
// server: 200 subscribers over 2 worker processes for a few seconds. Checks that it works and
// reports, never how fast (no timing thresholds).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BenchResult } from '../../apps/tidings/src/bench/types.js';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const secret = 'bench-smoke-secret-0123456789abcdef';
const apiKey = 'bench-smoke-api-key-0123456789';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: { namespaces: { bench: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server.close();
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

it('tidings bench delivers to 200 subscribers over 2 workers and reports latency, no errors', async () => {
  const token = await signToken({ sub: 'bench' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-bench-')), 'result.json');
  const { code, stdout, stderr } = await runCli([
    'bench',
    '--url',
    `ws://127.0.0.1:${server.port}/connection/websocket`,
    '--token',
    token,
    '--api-key',
    apiKey,
    '--subscribers',
    '200',
    '--workers',
    '2',
    '--channels',
    '2',
    '--channel-prefix',
    'bench:smoke-',
    '--rate',
    '50',
    '--duration',
    '5',
    '--server-pid',
    String(process.pid),
    '--out',
    out,
  ]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(stdout).toContain('latency p99');
  const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
  expect(result.connected).toBe(200);
  expect(result.published).toBeGreaterThan(0);
  expect(result.deliveries).toBeGreaterThan(0);
  expect(result.deliveries).toBeLessThanOrEqual(result.expectedDeliveries);
  expect(result.latencyUs.count).toBe(result.deliveries);
  for (const p of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(result.latencyUs[p]).toBeGreaterThan(0);
  expect(result.latencyUs.p50).toBeLessThanOrEqual(result.latencyUs.p99);
  expect(result.errors.total).toBe(0);
  expect(result.server?.pid).toBe(process.pid);
  expect(result.server?.rssPeakMiB).toBeGreaterThan(0);
  expect(result.timeline.length).toBeGreaterThan(0);
}, 60_000);
