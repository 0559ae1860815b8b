// bench/publish-api.mjs as documented, shortened: memory engine only, 1 s per scenario, no
// warm-up. Checks that it runs both scenarios through autocannon and reports them, never how
// fast (no timing thresholds).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Row {
  engine: string;
  build: string;
  round: number;
  scenario: string;
  perRequest: number;
  subscribers: number;
  publishesPerSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  published: number;
  deliveries: number;
  serverUsPerPublish: number;
  engineUsPerPublish: number;
  loadUsPerPublish: number;
  machineBusyPercent: number;
}

it('publish-api.mjs measures single and batch publishes with subscribers and prints the table', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-publish-api-test-')), 'result.json');
  const args = ['bench/publish-api.mjs', '--duration', '1', '--warmup', '0', '--engines', 'memory'];
  args.push('--connections', '4', '--batch', '5', '--subscribers', '2', '--no-pin', '--out', out);
  args.push('--port', String(await freePort()));
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('[memory after batch] 1/1 s') });
  expect(stdout).toContain('| memory | after | 1 | single | 1 |');
  expect(stdout).toContain('| µs CPU/publish: server | engine | load client | machine busy % |');
  expect(stdout).toContain('| memory | after | 1 | batch | 5 |');
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.engine, r.scenario, r.perRequest, r.subscribers])).toEqual([
    ['memory', 'single', 1, 2],
    ['memory', 'batch', 5, 2],
  ]);
  for (const r of rows) {
    expect(r.non2xx + r.errors).toBe(0);
    expect(r.publishesPerSec).toBe(r.requestsPerSec * r.perRequest);
    expect(r.published).toBeGreaterThan(0);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    // Requests in flight when autocannon stops are delivered but not counted as 2xx.
    expect(r.deliveries).toBeGreaterThanOrEqual(r.published * r.subscribers);
    // Where the CPU went: the server and this client did work; the memory engine has no process.
    expect(r.serverUsPerPublish).toBeGreaterThan(0);
    expect(r.loadUsPerPublish).toBeGreaterThan(0);
    expect(r.engineUsPerPublish).toBe(0);
    expect(r.machineBusyPercent).toBeGreaterThan(0);
    expect(r.machineBusyPercent).toBeLessThanOrEqual(100);
  }
}, 60_000);

it('publish-api.mjs runs a baseline build beside this one, then reports after ÷ before', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-publish-api-test-')), 'result.json');
  // This checkout stands in for the baseline: the run is what is checked, not the figures.
  const args = ['bench/publish-api.mjs', '--duration', '1', '--warmup', '0', '--engines', 'memory'];
  args.push('--connections', '4', '--batch', '5', '--subscribers', '1', '--baseline', root, '--scenarios', 'batch');
  args.push('--no-pin', '--out', out, '--port', String(await freePort()));
  const { code, stderr, stdout } = await run(args);
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('[memory before batch]') });
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.engine, r.build, r.scenario])).toEqual([
    ['memory', 'before', 'batch'],
    ['memory', 'after', 'batch'],
  ]);
  for (const r of rows) expect(r.non2xx + r.errors).toBe(0);
  expect(stdout).toMatch(/\| memory \| batch \| \d+\.\d\d× \|/);
}, 60_000);

it('publish-api.mjs runs NATS beside memory over several channels and reports nats ÷ memory', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-publish-api-test-')), 'result.json');
  const args = ['bench/publish-api.mjs', '--duration', '1', '--warmup', '0', '--engines', 'memory,nats'];
  args.push('--connections', '4', '--batch', '6', '--subscribers', '3', '--channels', '3', '--scenarios', 'batch');
  args.push('--no-pin', '--out', out, '--port', String(await freePort()));
  const { code, stderr, stdout } = await run(args);
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('[nats after batch]') });
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.engine, r.build, r.scenario, r.subscribers])).toEqual([
    ['memory', 'after', 'batch', 3],
    ['nats', 'after', 'batch', 3],
  ]);
  for (const r of rows) {
    expect(r.non2xx + r.errors).toBe(0);
    expect(r.published).toBeGreaterThan(0);
    // Each channel has one subscriber: every publication is delivered once.
    expect(r.deliveries).toBeGreaterThanOrEqual(r.published);
    // The shared nats-server is found by its port and its CPU read from /proc.
    if (r.engine === 'nats') expect(r.engineUsPerPublish).toBeGreaterThan(0);
    else expect(r.engineUsPerPublish).toBe(0);
  }
  expect(stdout).toMatch(/\| after \| nats \| batch \| \d+\.\d\d× \|/);
}, 60_000);

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { code, stdout, stderr };
}
