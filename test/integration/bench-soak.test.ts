// bench/soak.mjs as documented, shortened: 600 WebSocket connections from two client processes
// held 10 s, 300 slowloris sockets against a 2 s header timeout, a canary at 20 publications/s.
// Checks what the full run (10,000 connections, 10 minutes, 5,000 slowloris) promises — no
// unexpected close, every slowloris socket ended with 408, the canary lost nothing, /readyz
// healthy — never how fast. Needs `npm run build` (the bench spawns the built CLI).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'bench-soak-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('soak.mjs holds every connection, refuses every slowloris socket with 408 and the canary loses nothing', () => {
  const out = join(work, 'soak.json');
  const run = spawnSync(
    process.execPath,
    [
      'bench/soak.mjs',
      '--connections',
      '600',
      '--processes',
      '2',
      '--seconds',
      '10',
      '--slowloris',
      '300',
      '--headers-timeout-ms',
      '2000',
      '--connect-rate',
      '400',
      '--quiet',
      '--out',
      out,
    ],
    { cwd: root, encoding: 'utf8', timeout: 150_000 },
  );
  expect({ status: run.status, stderr: run.stderr }, run.stdout).toEqual({ status: 0, stderr: '' });
  expect(run.stdout).toContain('soak: OK');
  const report = JSON.parse(readFileSync(out, 'utf8'));
  expect(report.held).toMatchObject({
    opened: 600,
    subscribed: 600,
    unexpectedCloses: 0,
    errors: 0,
    connectFailures: 0,
  });
  // A 2 s header timeout over a 10 s hold: each of the 300 slots is refused several times over.
  expect(report.slowloris.refused).toBeGreaterThanOrEqual(300);
  // Each ended by the server: 408, or a reset when the socket's last header bytes were unread.
  expect(report.slowloris.refused408 + report.slowloris.reset).toBe(report.slowloris.refused);
  expect(report.slowloris.refused408).toBeGreaterThan(0);
  expect(report.slowloris).toMatchObject({ refusedOther: 0, closedSilently: 0 });
  expect(report.canary.acked).toBeGreaterThan(0);
  expect(report.canary).toMatchObject({
    lost: 0,
    duplicated: 0,
    reordered: 0,
    closedUnexpectedly: 0,
    failedPublishes: 0,
  });
  expect(report.canary.received).toBe(report.canary.acked);
  expect(report.readyz).toBe(200);
  expect(report.rss.perConnectionKiB).toBeGreaterThan(0);
}, 180_000);
