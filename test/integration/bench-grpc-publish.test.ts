// bench/grpc-publish.mjs as documented, shortened: one short round per API. Checks that it runs
// every scenario against a real server and prints the table, never how fast (no thresholds).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('grpc-publish.mjs publishes through JSON, gRPC and Connect and prints one row each with no errors', async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['bench/grpc-publish.mjs', '--duration', '0.5', '--rounds', '1', '--concurrency', '4', '--port', '0', '--no-pin'],
      { cwd: root, timeout: 60_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
  const rows = stdout
    .split('\n')
    .filter((line) => /^\| (json|grpc|connect)-/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()));
  expect(rows.map((r) => r[1])).toEqual(['json-http1', 'grpc-h2c', 'connect-http1']);
  for (const r of rows) {
    expect(Number(r[2]?.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(r[8]).toBe('0');
  }
}, 90_000);
