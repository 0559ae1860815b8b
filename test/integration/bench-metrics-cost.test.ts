// bench/metrics-cost.mjs as documented, shortened: one round, 20,000 deliveries per run. Checks
// that both sides run and that the instrumented side counted every delivery, never how fast
// (no timing thresholds). Needs `npm run build` (the bench imports the built packages).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('metrics-cost.mjs runs metrics off and on and the recorder counts every delivery', () => {
  const run = spawnSync(
    process.execPath,
    ['bench/metrics-cost.mjs', '--rounds', '2', '--deliveries', '20000', '--subscribers', '10,1000'],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const rows = run.stdout
    .split('\n')
    .filter((l) => /^\| [\d,]+ \|/.test(l))
    .map((l) => l.split('|').map((c) => c.trim()));
  expect(rows.map((r) => r[1])).toEqual(['10', '1,000']);
  for (const r of rows) {
    expect(Number(r[2]?.replaceAll(',', ''))).toBeGreaterThan(0);
    expect(Number(r[3]?.replaceAll(',', ''))).toBeGreaterThan(0);
    // 2 rounds × 20,000 deliveries, counted by the MetricsRecorder of the "on" side.
    expect(r[5]).toBe('40,000');
  }
});
