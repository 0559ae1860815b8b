// `tidings bench` as users run it (the built binary, after `npm run build`) against an in-process
// server: 200 subscribers over 2 worker processes for a few seconds, over WebSocket, SSE and
// NDJSON. Checks that it works and reports, never how fast (no timing thresholds).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runBenchCli } from './bench-cli.js';
import { startTestServer, type TestServer } from './in-process-server.js';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer('bench-smoke', 'bench');
});
afterAll(async () => {
  await test.close();
});

it('tidings bench delivers to 200 subscribers over 2 workers and reports latency, no errors', async () => {
  const token = await test.token();
  const { stdout, result } = await runBenchCli([
    '--url',
    test.wsUrl,
    '--token',
    token,
    '--api-key',
    test.apiKey,
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
  ]);
  expect(stdout).toContain('latency p99');
  expect(result.connected).toBe(200);
  expect(result.published).toBeGreaterThan(0);
  expect(result.deliveries).toBeGreaterThan(0);
  // Nothing is lost on loopback: the drain waits for the load generator's backlog.
  expect(result.deliveries).toBe(result.expectedDeliveries);
  // The rate is over the time deliveries really took (publishing until the workers stopped),
  // never over the publishing window alone, which late deliveries would inflate.
  expect(result.deliverySeconds).toBeGreaterThanOrEqual(result.publishSeconds);
  expect(Math.abs(result.deliveriesPerSec - result.deliveries / result.deliverySeconds)).toBeLessThanOrEqual(1);
  expect(result.latencyUs.count).toBe(result.deliveries);
  for (const p of ['p50', 'p90', 'p99', 'p999', 'max'] as const) expect(result.latencyUs[p]).toBeGreaterThan(0);
  expect(result.latencyUs.p50).toBeLessThanOrEqual(result.latencyUs.p99);
  expect(result.errors.total).toBe(0);
  expect(result.server?.pid).toBe(process.pid);
  expect(result.server?.rssPeakMiB).toBeGreaterThan(0);
  expect(result.server?.systemCpuUsPerDelivery).toBeGreaterThanOrEqual(0);
  expect(result.server?.userCpuUsPerDelivery).toBeGreaterThan(0);
  expect(result.timeline.length).toBeGreaterThan(0);
}, 60_000);

it.each([
  ['tidings-sse', '/connection/sse'],
  ['tidings-ndjson', '/connection/stream'],
] as const)(
  'tidings bench --transport %s: every publication reaches 100 stream subscribers, no errors',
  async (transport, path) => {
    const token = await test.token();
    const { result } = await runBenchCli([
      '--transport',
      transport,
      '--url',
      `http://127.0.0.1:${test.server.port}${path}`,
      '--token',
      token,
      '--api-key',
      test.apiKey,
      '--subscribers',
      '100',
      '--workers',
      '2',
      '--channels',
      '2',
      '--channel-prefix',
      `bench:${transport}-`,
      '--rate',
      '20',
      '--duration',
      '2',
      '--no-progress',
    ]);
    expect(result.options.transport).toBe(transport);
    expect(result.connected).toBe(100);
    expect(result.published).toBeGreaterThan(0);
    expect(result.expectedDeliveries).toBe(result.published * 50);
    expect(result.deliveries).toBe(result.expectedDeliveries);
    expect(result.latencyUs.count).toBe(result.deliveries);
    expect(result.errors.total).toBe(0);
  },
  30_000,
);
