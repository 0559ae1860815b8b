// bench/tracing-cost.mjs as documented, shortened: one round, a few thousand deliveries per run.
// Checks that every side runs and that the traced side exported two spans (engine publish and
// fan-out) per publication, never how fast (no timing thresholds). Needs `npm run build`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('tracing-cost.mjs runs tracing off and on, and the traced side exports its spans', () => {
  const run = spawnSync(
    process.execPath,
    [
      'bench/tracing-cost.mjs',
      '--rounds',
      '1',
      '--deliveries',
      '2000',
      '--min-messages',
      '20',
      '--subscribers',
      '1,100',
    ],
    { cwd: root, encoding: 'utf8', timeout: 120_000 },
  );
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const rows = run.stdout
    .split('\n')
    .filter((l) => /^\| [\d,]+ \|/.test(l))
    .map((l) => l.split('|').map((c) => c.trim()));
  expect(rows.map((r) => r[1])).toEqual(['1', '100']);
  for (const r of rows) {
    for (const column of [2, 3, 5]) expect(Number(r[column]?.replaceAll(',', ''))).toBeGreaterThan(0);
  }
  // 2,000 publications to 1 subscriber and 20 to 100, two spans each, all sampled.
  expect(rows.map((r) => r[8])).toEqual(['4,000', '40']);
});
