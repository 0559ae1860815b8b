// `tidings bench --scenario …` as users run it (the built binary, after `npm run build`) against an
// in-process server, a few seconds each with small N. Checks what each scenario reports and that
// the chart is written, never how fast (no timing thresholds).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BenchResult } from '../../apps/tidings/src/bench/types.js';
import { runCli } from './bench-cli.js';
import { startTestServer, type TestServer } from './in-process-server.js';

const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-scenarios-'));
let test: TestServer;
let token: string;

beforeAll(async () => {
  test = await startTestServer('bench-scenarios', 'bench');
  token = await test.token();
});
afterAll(async () => {
  await test.close();
});

/** Runs `tidings bench` with the common flags plus `args`; answers its stdout and the JSON result. */
async function bench(name: string, args: string[]): Promise<{ stdout: string; result: BenchResult; svg: string }> {
  const out = join(dir, `${name}.json`);
  const { code, stdout, stderr } = await runCli([
    'bench',
    '--url',
    test.wsUrl,
    '--token',
    token,
    '--api-key',
    test.apiKey,
    '--workers',
    '2',
    '--channel-prefix',
    `bench:${name}-`,
    '--server-pid',
    String(process.pid),
    '--no-progress',
    '--out',
    out,
    ...args,
  ]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
  return { stdout, result, svg: readFileSync(join(dir, `${name}.svg`), 'utf8') };
}

it('many-channels spreads the subscribers four to a channel and delivers to each', async () => {
  const { stdout, result, svg } = await bench('many', [
    '--scenario',
    'many-channels',
    '-n',
    '120',
    '-r',
    '60',
    '-d',
    '2',
  ]);
  expect(result.options.scenario).toBe('many-channels');
  expect(result.options.channels).toBe(30);
  expect(result.connected).toBe(120);
  expect(result.published).toBeGreaterThan(0);
  expect(result.expectedDeliveries).toBe(result.published * 4);
  expect(result.deliveries).toBeGreaterThan(0);
  expect(result.deliveries).toBeLessThanOrEqual(result.expectedDeliveries);
  expect(result.errors.total).toBe(0);
  expect(stdout).toContain('many-channels: 120 subscribers, 30 channel(s)');
  expect(svg).toContain('many-channels scenario');
}, 60_000);

it('connect-storm connects everyone, publishes nothing and reports the connect-latency histogram', async () => {
  const { stdout, result, svg } = await bench('storm', ['--scenario', 'connect-storm', '-n', '300']);
  expect(result.connected).toBe(300);
  expect(result.published).toBe(0);
  expect(result.deliveries).toBe(0);
  expect(result.connectPerSec).toBeGreaterThan(0);
  expect(result.connectLatencyUs?.count).toBe(300);
  expect(result.connectLatencyUs?.p50).toBeGreaterThan(0);
  expect(result.connectLatencyUs?.p50).toBeLessThanOrEqual(result.connectLatencyUs?.p99 ?? 0);
  expect(result.timeline[0]).toEqual({ t: 0, connected: 0, deliveriesPerSec: 0 });
  expect(result.timeline.map((p) => p.connected)).toContain(300);
  expect(result.errors.total).toBe(0);
  expect(result.server?.userCpuUsPerConnect).toBeGreaterThanOrEqual(0);
  expect(stdout).toContain('connect latency p99');
  expect(stdout).toContain('µs user/connection');
  expect(stdout).not.toContain('deliveries/s');
  expect(svg).toContain('Connect latency');
}, 60_000);

it('idle holds the sockets without publishing and reports server RSS per connection', async () => {
  const { stdout, result, svg } = await bench('idle', ['--scenario', 'idle', '-n', '200', '-d', '2']);
  expect(result.connected).toBe(200);
  expect(result.published).toBe(0);
  const idle = result.idle;
  expect(idle).toBeDefined();
  expect(idle?.rssBeforeMiB).toBeGreaterThan(0);
  expect(idle?.holdSeconds).toBeGreaterThanOrEqual(2);
  expect(Number.isFinite(idle?.perConnectionEndKiB)).toBe(true);
  expect(result.timeline.some((p) => p.serverRssMiB !== undefined && p.serverRssMiB > 0)).toBe(true);
  expect(result.errors.total).toBe(0);
  expect(stdout).toContain('rss/connection');
  expect(svg).toContain('KiB RSS per connection');
}, 60_000);

it('publish-api drives /api/batch with autocannon and every publication reaches every subscriber', async () => {
  const { stdout, result, svg } = await bench('api', [
    '--scenario',
    'publish-api',
    '--batch',
    '10',
    '--publish-concurrency',
    '4',
    '-n',
    '20',
    '-d',
    '2',
  ]);
  const api = result.publishApi;
  expect(api?.path).toBe('/api/batch');
  expect(api?.batch).toBe(10);
  expect(api?.requests).toBeGreaterThan(0);
  expect(api?.requestLatencyUs.count).toBeGreaterThanOrEqual(api?.requests ?? 0);
  expect(api?.requestLatencyUs.p50).toBeGreaterThan(0);
  // Requests still in flight when autocannon stops count as published (the server has them).
  expect(result.published).toBeGreaterThanOrEqual((api?.requests ?? 0) * 10);
  expect(result.published).toBeLessThanOrEqual(((api?.requests ?? 0) + 4) * 10);
  expect(result.expectedDeliveries).toBe(result.published * 20);
  expect(result.deliveries).toBe(result.expectedDeliveries);
  expect(result.errors.total).toBe(0);
  expect(stdout).toContain('/api/batch, 10 publication(s) per request, 4 autocannon connections');
  expect(stdout).toContain('request latency p99');
  expect(svg).toContain('publishes/s');
}, 60_000);

it('publish-api with one publication per request uses /api/publish', async () => {
  const { result } = await bench('api-single', ['--scenario', 'publish-api', '-n', '5', '-d', '1']);
  expect(result.publishApi?.path).toBe('/api/publish');
  expect(result.options.rate).toBe(0);
  expect(result.publishApi?.requests).toBeGreaterThan(0);
  expect(result.deliveries).toBe(result.expectedDeliveries);
}, 60_000);

it('a warm-up publishes first and is left out of every figure', async () => {
  const { stdout, result } = await bench('warm', ['-n', '40', '-r', '50', '-d', '1', '--warmup', '1']);
  expect(result.options.warmupSeconds).toBe(1);
  // Only the measured second's publications are counted, expected and timed.
  expect(result.published).toBeGreaterThan(0);
  expect(result.published).toBeLessThanOrEqual(60);
  expect(result.expectedDeliveries).toBe(result.published * 40);
  expect(result.deliveries).toBe(result.expectedDeliveries);
  expect(result.latencyUs.count).toBe(result.deliveries);
  expect(result.timeline.every((p) => p.t >= 0)).toBe(true);
  expect(stdout).toContain('after a 1 s warm-up (not counted)');
}, 60_000);
