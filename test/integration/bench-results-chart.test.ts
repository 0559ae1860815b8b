// bench/results-chart.mjs draws the chart of a result file on record: one SVG per kind from the
// JSON the benches wrote (bench/results/), and a clear error for a bad invocation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from './bench-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tidings-results-chart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chart = (args: string[]) =>
  spawnSync(process.execPath, ['bench/results-chart.mjs', ...args], { cwd: repoRoot, encoding: 'utf8' });

it.each([
  ['publish-api', 'issue19-publish-api-quiet.json', ['POST /api/publish', 'redis after', 'mem. before']],
  ['cross-node', 'issue19-cross-node-quiet.json', ['p99 at 1,000/s', 'nats 4']],
  ['workers', 'issue19-workers-quiet.json', ['machine busy', '--workers 2']],
])('draws the %s chart of a result on record', (kind, file, labels) => {
  const out = join(dir, `${kind}.svg`);
  const r = chart(['--kind', kind, '--in', join(repoRoot, 'bench/results', file), '--out', out]);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const svg = readFileSync(out, 'utf8');
  expect(svg).toMatch(/^<\?xml[^>]*>\s*<svg /);
  for (const label of labels) expect(svg).toContain(label);
});

it('says what is missing or wrong', () => {
  const missing = chart(['--kind', 'workers']);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain('--kind, --in and --out are required');
  const kind = chart([
    '--kind',
    'nope',
    '--in',
    join(repoRoot, 'bench/results/issue19-workers-quiet.json'),
    '--out',
    join(dir, 'x.svg'),
  ]);
  expect(kind.status).toBe(2);
  expect(kind.stderr).toContain('unknown --kind nope');
  const unreadable = chart(['--kind', 'workers', '--in', join(dir, 'none.json'), '--out', join(dir, 'x.svg')]);
  expect(unreadable.status).toBe(1);
  expect(unreadable.stderr).toContain('cannot read');
});
