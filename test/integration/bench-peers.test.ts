// The peers of bench/compare.sh driven by `tidings bench` through their own client transports:
// the Socket.IO 4 peer (bench/peers/socketio-server.mjs) with the `socketio` adapter, and nginx +
// Nchan (bench/peers/nchan.conf, Debian's libnginx-mod-nchan, installed by .ci/run) with the
// `nchan-ws` and `nchan-sse` adapters. Every publication must reach every subscriber, no errors;
// never a timing threshold.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../apps/tidings/src/bench/types.js';
import { repoRoot, runBenchCli } from './bench-cli.js';
import { freePort, until } from './proxy-processes.js';
import { requireFile, requireTool } from './system-tools.js';

const nchanModule = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

interface Peer {
  readonly proc: ChildProcess;
  readonly port: number;
  output(): string;
}

/** Spawns a peer and resolves once `ready(output)` finds its port in what it printed. */
function spawnPeer(cmd: string, args: readonly string[], ready: (output: string) => number | undefined): Promise<Peer> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const check = (chunk: Buffer): void => {
      output += chunk.toString();
      const port = ready(output);
      if (port !== undefined) resolve({ proc, port, output: () => output });
    };
    proc.stdout?.on('data', check);
    proc.stderr?.on('data', check);
    proc.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}: ${output}`)));
  });
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

/** 100 subscribers over 2 workers on 2 channels, 20 publications/s for 2 s. */
function benchArgs(transport: string, url: string): string[] {
  return [
    '--transport',
    transport,
    '--url',
    url,
    '--subscribers',
    '100',
    '--workers',
    '2',
    '--channels',
    '2',
    '--channel-prefix',
    `fan-${transport}-`,
    '--rate',
    '20',
    '--duration',
    '2',
    '--no-progress',
  ];
}

function expectEveryDelivery(result: BenchResult): void {
  expect(result.connected).toBe(100);
  expect(result.published).toBeGreaterThan(0);
  expect(result.expectedDeliveries).toBe(result.published * 50);
  expect(result.deliveries).toBe(result.expectedDeliveries);
  expect(result.latencyUs.count).toBe(result.deliveries);
  expect(result.errors).toEqual({ connect: 0, disconnects: 0, publish: 0, protocol: 0, dropped: 0, total: 0 });
}

describe('Socket.IO 4 peer', () => {
  let peer: Peer | undefined;
  beforeAll(async () => {
    peer = await spawnPeer(
      process.execPath,
      [join(repoRoot, 'bench/peers/socketio-server.mjs'), '--port', '0'],
      (out) => {
        const m = /listening http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        return m === null ? undefined : Number(m[1]);
      },
    );
  });
  afterAll(() => stop(peer?.proc));

  it('the socketio adapter gets every publication of the peer, no errors', async () => {
    const { result } = await runBenchCli([
      ...benchArgs('socketio', `http://127.0.0.1:${peer?.port}`),
      '--server-pid',
      String(peer?.proc.pid),
    ]);
    expectEveryDelivery(result);
    expect(result.server?.pid).toBe(peer?.proc.pid);
  }, 30_000);
});

describe('nginx + Nchan peer', () => {
  let peer: Peer | undefined;
  let dir = '';
  beforeAll(async () => {
    requireTool('nginx', 'nginx');
    requireFile(nchanModule, 'libnginx-mod-nchan');
    dir = mkdtempSync(join(tmpdir(), 'tidings-nchan-'));
    // The worker runs as www-data when the master is root: it must reach its temp folders.
    chmodSync(dir, 0o755);
    const port = await freePort();
    const conf = readFileSync(join(repoRoot, 'bench/peers/nchan.conf'), 'utf8')
      .replaceAll('@PREFIX@', dir)
      .replaceAll('@PORT@', String(port))
      .replaceAll('@NCHAN_MODULE@', nchanModule);
    writeFileSync(join(dir, 'nchan.conf'), conf);
    const proc = spawn(nginx, ['-p', dir, '-c', join(dir, 'nchan.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    peer = { proc, port, output: () => output };
    await until(
      async () => (await fetch(`http://127.0.0.1:${port}/pub?id=probe`, { method: 'POST', body: '{}' })).ok,
      10_000,
      () => output,
    );
  });
  afterAll(async () => {
    await stop(peer?.proc);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['nchan-ws', 'ws'],
    ['nchan-sse', 'http'],
  ] as const)(
    'the %s adapter gets every publication of Nchan, no errors',
    async (transport, scheme) => {
      const { result } = await runBenchCli(benchArgs(transport, `${scheme}://127.0.0.1:${peer?.port}/sub`));
      expectEveryDelivery(result);
    },
    30_000,
  );
});

// Regression: a refused connection reports both a failure and a close (socket.io-client's
// `connect_error`, now raw-ws's `error` then `closed`); the worker had counted it as a connect
// error and then once more as a disconnect (and `connected` went negative).
it.each([
  ['socketio', 'http'],
  ['nchan-sse', 'http'],
  ['nchan-ws', 'ws'],
  ['centrifuge-ws', 'ws'],
] as const)(
  'a %s subscriber that cannot connect is one connect error, not a disconnect',
  async (transport, scheme) => {
    // The address accepts TCP (so bench's reachability check passes) and closes every socket at once.
    const refuser = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    const port = (refuser.address() as AddressInfo).port;
    try {
      const url = `${scheme}://127.0.0.1:${port}${transport === 'socketio' ? '' : '/sub'}`;
      const { result, stderr } = await runBenchCli(
        ['--transport', transport, '--url', url, '--subscribers', '10', '--workers', '1', '--rate', '5'].concat([
          '--duration',
          '1',
          '--no-progress',
        ]),
        1,
      );
      expect(stderr).toContain(`no subscriber could connect: all 10 attempts at ${url} failed`);
      expect(result.connected).toBe(0);
      expect(result.errors.connect).toBe(10);
      expect(result.errors.disconnects).toBe(0);
    } finally {
      await new Promise((resolve) => refuser.close(resolve));
    }
  },
  30_000,
);
