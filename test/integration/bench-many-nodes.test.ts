// bench/many-nodes.mjs as documented, shortened: 1 and 2 nodes on Redis and on NATS, 60
// connections per node over 20 channels, held by client processes of 50 connections each (so
// several processes and source addresses), 100 publications/s for 1 s. Checks that every run
// holds its connections, every measured publication reaches every subscriber of its channel,
// the report and chart are written and the percentiles are ordered — never how fast.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The first of two consecutive ports nothing listens on right now. */
async function freePorts(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const next = await new Promise<boolean>((resolve) => {
      const s = createServer()
        .once('error', () => resolve(false))
        .listen(port + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (next) return port;
  }
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['bench/many-nodes.mjs', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

interface Row {
  engine: string;
  nodes: number;
  connections: number;
  unexpectedCloses: number;
  failedPublishes: number;
  measuredPublications: number;
  delivered: number;
  expected: number;
  kibPerConnection: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  nodeCpuPct: number[];
  engineCpuPct: number;
}

it('many-nodes.mjs holds connections on 1 and 2 nodes over Redis and NATS and delivers every publication', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-many-nodes-test-'));
  const out = join(dir, 'result.json');
  const chart = join(dir, 'chart.svg');
  const args = ['--engines', 'redis,nats', '--nodes', '1,2', '--per-node', '60', '--channels', '20'];
  args.push('--per-process', '50', '--rate', '100', '--duration', '1', '--warmup', '0');
  args.push('--port', String(await freePorts()), '--out', out, '--chart', chart);
  const { code, stdout, stderr } = await run(args);
  expect({ code, stderr }).toEqual({
    code: 0,
    stderr: expect.stringContaining('[nats round 1] 2 node(s) × 60 = 120 connections'),
  });
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.engine, r.nodes, r.connections])).toEqual([
    ['redis', 1, 60],
    ['redis', 2, 120],
    ['nats', 1, 60],
    ['nats', 2, 120],
  ]);
  for (const r of rows) {
    expect(r.unexpectedCloses).toBe(0);
    expect(r.failedPublishes).toBe(0);
    expect(r.measuredPublications).toBeGreaterThan(0);
    // Connections ÷ channels subscribers per channel (3 on one node, 6 on two).
    expect(r.expected).toBe(r.measuredPublications * (r.connections / 20));
    expect(r.delivered).toBe(r.expected);
    expect(Number.isFinite(r.kibPerConnection)).toBe(true);
    expect(r.nodeCpuPct).toHaveLength(r.nodes);
    expect(r.engineCpuPct).toBeGreaterThanOrEqual(0);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    expect(r.p99Ms).toBeLessThanOrEqual(r.p999Ms);
  }
  expect(stdout).toMatch(/\| redis \| 2 \| 120 \| .* \| 0 \|$/m);
  const svg = readFileSync(chart, 'utf8');
  for (const label of ['deliveries/s', 'p99 (ms)', 'KiB', 'redis 1', 'nats 2']) expect(svg).toContain(label);
}, 120_000);

it('many-nodes.mjs refuses a per-process count over the open-files limit with a clear message', async () => {
  const { code, stderr } = await run(['--per-process', '20000']);
  expect(code).toBe(2);
  expect(stderr).toContain('20,000 open files per process');
});
