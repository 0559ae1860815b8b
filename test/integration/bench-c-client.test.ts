// bench/compare.sh with CLIENT=c: the independent C fan-out client (bench/c-client/fanlat.c),
// built by the script with cc, against Tidings, Tidings from a BASELINE tree (here this tree
// itself), the raw `ws` peer and nginx + Nchan, at small scale. Every publication must reach
// every subscriber with no error, and the report must be in the shape compare-table.mjs reads;
// never a timing threshold.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './bench-cli.js';
import { freePort } from './proxy-processes.js';
import { requireFile, requireTool } from './system-tools.js';

interface CReport {
  client: string;
  options: { transport: string; subscribers: number };
  subscribed: number;
  publishedMeasured: number;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSec: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; count: number };
  errors: { total: number };
  loadCpuPercent: number;
  server: { pid: number; cpuPercent: number; userCpuUsPerDelivery: number; systemCpuUsPerDelivery: number };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, out })));
}

describe('bench/compare.sh CLIENT=c', () => {
  it('measures tidings, tidings-base, raw-ws and nchan with the C client, every delivery, no error', async () => {
    requireTool('cc', 'gcc');
    requireTool('taskset', 'util-linux');
    requireTool('nginx', 'nginx');
    requireFile('/usr/lib/nginx/modules/ngx_nchan_module.so', 'libnginx-mod-nchan');
    const out = mkdtempSync(join(tmpdir(), 'tidings-cclient-'));
    dirs.push(out);
    const peers = ['tidings', 'tidings-base', 'raw-ws', 'nchan'];
    const { code, out: log } = await run('bash', ['bench/compare.sh'], {
      CLIENT: 'c',
      PEERS: peers.join(' '),
      BASELINE: repoRoot,
      NS: '60',
      RATES: '20',
      DURATION: '1',
      WARMUP: '0.5',
      RUNS: '1',
      PORT: String(await freePort()),
      OUT: out,
    });
    expect({ code, log }).toEqual({ code: 0, log: expect.stringContaining('client c') });
    for (const peer of peers) {
      const r = JSON.parse(readFileSync(join(out, `${peer}-n60-r20-1.json`), 'utf8')) as CReport;
      expect(r.client).toMatch(/fanlat/);
      expect(r.subscribed).toBe(60);
      expect(r.publishedMeasured).toBeGreaterThan(0);
      // One channel: every measured publication × every subscriber.
      expect(r.expectedDeliveries).toBe(r.publishedMeasured * 60);
      expect(r.deliveries).toBe(r.expectedDeliveries);
      expect(r.latencyUs.count).toBe(r.deliveries);
      expect(r.errors.total).toBe(0);
      const l = r.latencyUs;
      expect(l.p50).toBeGreaterThan(0);
      expect([l.p50, l.p90, l.p99, l.p999]).toEqual([...[l.p50, l.p90, l.p99, l.p999]].sort((a, b) => a - b));
      expect(l.max).toBeGreaterThanOrEqual(l.p999 - 10);
      // The server's CPU, from /proc in clock ticks (10 ms): nginx may spend less than one in 1 s.
      expect(r.server.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(r.server.userCpuUsPerDelivery).toBeGreaterThanOrEqual(0);
      if (peer.startsWith('tidings')) expect(r.server.cpuPercent).toBeGreaterThan(0);
      expect(r.options.transport).toBe(peer === 'nchan' ? 'nchan-ws' : 'centrifuge-ws');
    }
    // The table of medians and ratios, as with the Node harness.
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    for (const peer of peers) expect(table).toContain(`| ${peer} |`);
    expect(table).toMatch(/\| \d+\.\d\d× \|/);
  }, 120_000);

  it('refuses a saturating or non-WebSocket run, and fanlat explains a bad invocation', async () => {
    const sseOut = mkdtempSync(join(tmpdir(), 'tidings-cclient-sse-'));
    dirs.push(sseOut);
    const sse = await run('bash', ['bench/compare.sh'], { CLIENT: 'c', TRANSPORT: 'sse', OUT: sseOut });
    expect(sse.code).toBe(1);
    expect(sse.out).toContain('CLIENT=c measures WebSocket fan-out only');
    const dir = mkdtempSync(join(tmpdir(), 'tidings-fanlat-'));
    dirs.push(dir);
    const bin = join(dir, 'fanlat');
    expect(spawnSync('cc', ['-O2', '-o', bin, join(repoRoot, 'bench/c-client/fanlat.c')]).status).toBe(0);
    const fanlat = (args: string[]) => spawnSync(bin, args, { encoding: 'utf8' });
    const nowhere = ['--url', 'ws://127.0.0.1:1/x', '--api-url', 'http://127.0.0.1:1'];
    const missing = fanlat(['--subscribers', '5']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('--url and --api-url are required');
    const saturating = fanlat([...nowhere, '--rate', '0']);
    expect(saturating.status).toBe(1);
    expect(saturating.stderr).toContain('must be positive');
    // Nothing listens on port 1: every connect fails, and it says where it tried.
    const down = fanlat([...nowhere, '--subscribers', '3']);
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('is the server up at ws://127.0.0.1:1/x');
  }, 60_000);
});

describe('bench/profile-fanout.sh CLIENT=c', () => {
  it('profiles a fan-out driven by the C client and summarizes the publishing window', async () => {
    requireTool('cc', 'gcc');
    requireTool('taskset', 'util-linux');
    const out = mkdtempSync(join(tmpdir(), 'tidings-profile-c-'));
    dirs.push(out);
    const { code, out: log } = await run('bash', ['bench/profile-fanout.sh'], {
      CLIENT: 'c',
      NS: '40',
      RATE: '20',
      DURATION: '1',
      // 20 fan-outs of 40 take a few ms in all: V8's default 1 ms sampling missed them once in CI.
      INTERVAL: '50',
      PORT: String(await freePort()),
      OUT: out,
    });
    expect({ code, log }).toEqual({ code: 0, log: expect.stringContaining('client c') });
    // fanlat's report: every publication reached every subscriber.
    const r = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as CReport;
    expect(r.client).toMatch(/fanlat/);
    expect(r.deliveries).toBe(r.expectedDeliveries);
    expect(r.deliveries).toBeGreaterThan(0);
    // The summary of the server's profile, bounded by the fan-out function.
    expect(log).toContain('while broadcastPublication ran');
    expect(log).toContain('by area (self time)');
  }, 120_000);

  it('refuses what the C client cannot drive', async () => {
    const scratch = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'tidings-profile-refused-'));
      dirs.push(d);
      return d;
    };
    const bad = await run('bash', ['bench/profile-fanout.sh'], { CLIENT: 'java', OUT: scratch() });
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('CLIENT must be bench or c');
    const saturating = await run('bash', ['bench/profile-fanout.sh'], {
      CLIENT: 'c',
      RATE: '0',
      OUT: scratch(),
    });
    expect(saturating.code).toBe(1);
    expect(saturating.out).toContain('CLIENT=c profiles a centrifuge-ws fanout at a fixed RATE only');
  }, 60_000);
});
