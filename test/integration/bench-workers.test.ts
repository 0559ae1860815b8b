// bench/workers.mjs as documented, shortened: --workers 1 and 2 on the memory engine, 1 s each.
// Checks that both run, every publication reaches every subscriber (the primary relays to both
// workers), and the ratio is reported — never how fast.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

interface Row {
  workers: number;
  subscribers: number;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSec: number;
  errors: number;
  primaryCpuPct: number;
  primaryCpuUsPerPublish: number;
  serverCpuPct: number;
  loadCpuPct: number;
  machineBusyPct: number;
}

it('workers.mjs measures --workers 1 and 2 side by side and reports the ratio', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-workers-test-')), 'result.json');
  const args = ['bench/workers.mjs', '--subscribers', '40', '--channels', '2', '--rate', '100', '--duration', '1'];
  args.push('--warmup', '0', '--rounds', '1', '--port', String(await freePort()), '--out', out);
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('--workers 2') });
  const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
  expect(rows.map((r) => [r.workers, r.subscribers])).toEqual([
    [1, 40],
    [2, 40],
  ]);
  for (const r of rows) {
    expect(r.errors).toBe(0);
    expect(r.deliveries).toBeGreaterThan(0);
    expect(r.deliveries).toBe(r.expectedDeliveries);
    // The primary's (with 1 worker: the server's) CPU during the publishing window.
    expect(r.primaryCpuPct).toBeGreaterThan(0);
    expect(r.primaryCpuUsPerPublish).toBeGreaterThan(0);
    // Where the cores went: the server with its workers, the load client, the whole machine.
    expect(r.serverCpuPct).toBeGreaterThan(0);
    expect(r.loadCpuPct).toBeGreaterThan(0);
    expect(r.machineBusyPct).toBeGreaterThan(0);
    expect(r.machineBusyPct).toBeLessThanOrEqual(100);
  }
  // With 2 workers the server's CPU counts the primary and both workers, so it exceeds the primary's.
  const two = rows.find((r) => r.workers === 2)!;
  expect(two.serverCpuPct).toBeGreaterThan(two.primaryCpuPct);
  expect(stdout).toMatch(/\| 2 \| .* \| \d+\.\d\d× \(\d+\.\d\d\) \|/);
}, 60_000);
