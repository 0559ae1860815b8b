// bench/alloc-cost.mjs as documented in bench/README.md, shortened to 3 rounds of 2,000. Checks
// that every case runs and reports a time, and that bad options fail with a clear message; never
// how fast (no timing thresholds). Needs `npm run build` (the bench imports the built packages).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ['bench/alloc-cost.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

it('alloc-cost.mjs times each allocation and encoder case', () => {
  const r = run('--rounds', '3', '--iterations', '2000');
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => /^\s*(\d+) ns {2}(.+)$/.exec(l));
  expect(rows.map((m) => m?.[2])).toEqual([
    'new Uint8Array(171) (off-heap)',
    'new Uint8Array(48) (on-heap)',
    'TextEncoder.encode, 60 characters',
    'a subarray view into a slab, 171 bytes',
    'Buffer.allocUnsafe(171) (Node pool)',
    'encodePublicationBody, 100-byte data',
    'JSON encodePush, ~171 bytes',
  ]);
  for (const m of rows) expect(Number(m?.[1])).toBeGreaterThanOrEqual(0);
});

it('alloc-cost.mjs rejects a count that is not a positive integer', () => {
  const r = run('--iterations', 'many');
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--iterations must be a positive integer');
});
