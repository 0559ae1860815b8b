// Smoke of bench/state-conflation.mjs (one second a run): it runs to the end and its tables say
// what conflation promises — the capped subscriber never gets more than its rate per key, and
// every subscriber that was not disconnected ends on the latest value of every key. No time bar.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('bench/state-conflation.mjs: capped at 5/s per key, every kept subscriber on the latest values', async () => {
  const { stdout } = await run('node', ['bench/state-conflation.mjs', '--seconds', '1'], { timeout: 50_000 });
  const row = (name: string) => {
    const line = stdout.split('\n').find((l) => l.startsWith(`| ${name} |`));
    if (line === undefined) throw new Error(`no row ${name} in:\n${stdout}`);
    return line.split('|').map((c) => c.trim());
  };
  const capped = row('capped 5/s');
  expect(Number(capped[3])).toBeLessThanOrEqual(5);
  expect(capped[4]).toBe('1000 / 1000');
  expect(row('uncapped')[4]).toBe('1000 / 1000');
  expect(row('slow, conflate')[4]).toBe('1000 / 1000');
  expect(row('slow, conflate')[6]).toBe('no');
  expect(stdout).toMatch(/fossil \d+ B/);
}, 60_000);
