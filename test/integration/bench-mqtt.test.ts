// Smoke run of bench/mqtt-fanout.mjs (no time bar): both brokers deliver everything and the
// report has its rows. Needs `npm run build` and Debian's mosquitto.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('bench/mqtt-fanout.mjs runs Tidings and Mosquitto side by side', async () => {
  const { stdout } = await run(
    process.execPath,
    ['bench/mqtt-fanout.mjs', '--subscribers', '20', '--procs', '2', '--publications', '5', '--rate', '50'],
    { timeout: 120_000 },
  );
  expect(stdout).toMatch(/\| tidings \| 100 \/ 100 \|/);
  expect(stdout).toMatch(/\| mosquitto \| 100 \/ 100 \|/);
  expect(stdout).toContain('ratio tidings/mosquitto');
}, 150_000);

it('bench/mqtt-fanout.mjs runs with a wildcard filter over several topics', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      ...['bench/mqtt-fanout.mjs', '--subscribers', '20', '--procs', '2', '--publications', '6', '--rate', '50'],
      ...['--filter', 'bench/#', '--channels', '3'],
    ],
    { timeout: 120_000 },
  );
  expect(stdout).toContain('on bench/#');
  expect(stdout).toMatch(/\| tidings \| 120 \/ 120 \|/);
  expect(stdout).toMatch(/\| mosquitto \| 120 \/ 120 \|/);
}, 150_000);
