// Smoke run of bench/proxy-subscribe.mjs (on the built packages, after `npm run build`): a few
// subscribes per namespace. Checks that it runs and reports both paths, never how fast.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../bench/proxy-subscribe.mjs', import.meta.url));

it('bench/proxy-subscribe.mjs reports local and proxied subscribe latency', async () => {
  const { stdout } = await run(process.execPath, [script, '--subscribes', '20', '--json'], { timeout: 60_000 });
  const result = JSON.parse(stdout) as Record<'local' | 'proxied', { n: number; p50Ms: number; p99Ms: number }>;
  for (const path of ['local', 'proxied'] as const) {
    expect(result[path].n).toBe(20);
    expect(result[path].p50Ms).toBeGreaterThan(0);
    expect(result[path].p99Ms).toBeGreaterThanOrEqual(result[path].p50Ms);
  }
}, 90_000);
