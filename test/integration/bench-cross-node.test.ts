// bench/cross-node.mjs as documented, shortened: two nodes on Redis and on NATS, 1 s per run at
// 50 publications/s. Checks that both node counts run on both engines, every publication reaches every
// subscriber, and the report is sane (ordered percentiles, a 1-node baseline) — never how fast.
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

interface Row {
  engine: string;
  nodes: number;
  rate: number;
  subscribers: number;
  published: number;
  deliveries: number;
  expectedDeliveries: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
}

it('cross-node.mjs measures 1 and 2 nodes on Redis and NATS and reports sane percentiles', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-cross-node-test-')), 'result.json');
  const args = ['bench/cross-node.mjs', '--engines', 'redis,nats', '--nodes', '1,2', '--rates', '50'];
  args.push('--subscribers', '8', '--channels', '2', '--workers', '2', '--duration', '1', '--warmup', '0');
  args.push('--port', String(await freePorts()), '--out', out);
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('[nats round 1] 2 node(s), 50/s') });
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.engine, r.nodes, r.rate, r.subscribers])).toEqual([
    ['redis', 1, 50, 8],
    ['redis', 2, 50, 8],
    ['nats', 1, 50, 8],
    ['nats', 2, 50, 8],
  ]);
  for (const r of rows) {
    expect(r.errors).toBe(0);
    expect(r.published).toBeGreaterThan(0);
    expect(r.deliveries).toBe(r.expectedDeliveries);
    expect(r.expectedDeliveries).toBe(r.published * 4);
    expect(r.p50Ms).toBeGreaterThan(0);
    expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    expect(r.p99Ms).toBeLessThanOrEqual(r.p999Ms);
  }
  expect(stdout).toMatch(/\| redis \| 1 \| 50 \| .* \| — \|/);
  expect(stdout).toMatch(/\| nats \| 2 \| 50 \| .* \| -?\d+\.\d\d \|/);
}, 90_000);
