// bench/idle-table.mjs (the table of bench/idle-memory.sh) on JSON files shaped like
// `tidings bench --scenario idle --out` writes them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function result(perConnectionEndKiB: number) {
  return {
    connected: 10_000,
    connectPerSec: 2_000,
    errors: { total: 0 },
    idle: {
      rssBeforeMiB: 60,
      rssConnectedMiB: 140,
      rssEndMiB: 120,
      perConnectionConnectedKiB: 8.19,
      perConnectionEndKiB,
      holdSeconds: 20,
    },
  };
}

it('prints the median RSS per connection over the runs of each peer and the ratio to the first', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-idle-table-'));
  const write = (name: string, kib: number) => writeFileSync(join(dir, name), JSON.stringify(result(kib)));
  write('tidings-n10000-r0-1.json', 6);
  write('tidings-n10000-r0-2.json', 9);
  write('tidings-n10000-r0-3.json', 5);
  write('raw-ws-n10000-r0-1.json', 8);
  write('nchan-n10000-r0-1.json', 10);
  const run = spawnSync(process.execPath, ['bench/idle-table.mjs', dir, 'tidings', 'raw-ws', 'socketio'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines[0]).toContain('KiB/connection, end');
  // nchan is not in the peer list, socketio has no file.
  expect(lines.slice(2)).toEqual([
    '| 10,000 | tidings | 3 | 10,000 | 0 | 2,000 | 60 | 120 | 6 | 6, 9, 5 | 8.19 | 1.00× |',
    '| 10,000 | raw-ws | 1 | 10,000 | 0 | 2,000 | 60 | 120 | 8 | 8 | 8.19 | 0.75× |',
  ]);
});
