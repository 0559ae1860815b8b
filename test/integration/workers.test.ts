// `tidings serve --workers 2` with the embedded engine: the built binary, two worker processes on
// one port and the primary holding the memory engine. Raw `ws` clients are spread over both
// workers (found through /proc: which worker holds the server side of each connection).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '@tidings/server';
import { createLedger } from '@tidings/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { expectClean } from './cluster-clients.js';
import { api, apiKey, requireBuild, secret, until } from './cluster-harness.js';
import { pidOfConnection, RecoveringClient } from './workers-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
const channel = 'feed:workers';

interface LogLine {
  msg?: string;
  pid?: number;
  url?: string;
  worker?: number;
  workers?: number;
}

let proc: ChildProcess | undefined;

const redisPrefix = `tidings-workers-test:${randomBytes(6).toString('hex')}:`;

afterAll(() => {
  if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  // Remove what the shared-Redis test wrote under its private prefix.
  spawnSync('sh', ['-c', `redis-cli -p 6379 --scan --pattern '${redisPrefix}*' | xargs -r redis-cli -p 6379 unlink`]);
});

function startWorkers(
  engine: Record<string, unknown>,
): Promise<{ lines: LogLine[]; url: string; exit: Promise<number | null> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-workers-'));
  const file = join(dir, 'tidings.json');
  const feed = { historySize: 1000, historyTtlMs: 600_000, allowRecovery: true, presence: true };
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      engine,
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: { namespaces: { feed: { ...feed, allowSubscribeForClient: true } } },
      log: { level: 'info' },
    }),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--port', '0', '--workers', '2'], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  const lines: LogLine[] = [];
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 15 s\n${out}\n${err}`)), 15_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const complete = out.split('\n');
      out = complete.pop() ?? '';
      for (const line of complete) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as LogLine;
        lines.push(entry);
        if (entry.msg === 'listening' && entry.url !== undefined) {
          clearTimeout(timer);
          resolve({ lines, url: entry.url, exit });
        }
      }
    });
    void exit.then((code) => reject(new Error(`serve exited with ${code} before listening\n${out}\n${err}`)));
  });
}

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 3600 });

const workerPids = (lines: LogLine[]) =>
  lines.filter((l) => l.msg === 'worker listening' && l.pid !== undefined).map((l) => l.pid as number);

describe('tidings serve --workers 2 (memory engine in the primary)', () => {
  it('spreads clients over both workers with one order, shared history and presence, recovery across workers, worker restart and a clean stop', async () => {
    requireBuild();
    const { lines, url, exit } = await startWorkers({ type: 'memory' });
    const serverPort = Number(new URL(url).port);
    const wsUrl = `${url.replace(/^http/, 'ws')}/connection/websocket`;
    const listening = lines.find((l) => l.msg === 'listening');
    expect(listening?.workers).toBe(2);
    const pids = workerPids(lines);
    expect(new Set(pids).size).toBe(2);
    const ledger = createLedger();
    const workerOf = (client: RecoveringClient) => pidOfConnection(serverPort, client.localPort, workerPids(lines));

    // Two subscribers on each worker.
    const clients: RecoveringClient[] = [];
    const perWorker = new Map<number, RecoveringClient[]>(pids.map((pid) => [pid, []]));
    for (let i = 0; clients.length < 4 && i < 30; i++) {
      const id = `sub-${i}`;
      const client = new RecoveringClient(id, wsUrl, await token(id), channel, ledger);
      await client.open((port) => {
        const pid = pidOfConnection(serverPort, port, pids);
        return pid !== undefined && (perWorker.get(pid)?.length ?? 2) < 2;
      });
      perWorker.get(workerOf(client) as number)?.push(client);
      clients.push(client);
    }
    expect([...perWorker.values()].map((list) => list.length)).toEqual([2, 2]);

    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const res = await api(url, 'publish', { channel, data: { id: `m${i}` } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        ledger.acked(channel, { ...(res.body.result as { offset: number; epoch: string }), id: `m${i}` });
      }
    };
    const caughtUp = (list: RecoveringClient[], offset: number) => () =>
      list.every((c) => c.position?.offset === offset);

    await publish(0, 40);
    await until(caughtUp(clients, 40), 5000, 'every subscriber at offset 40');
    expectClean(ledger.check({ expectAll: true }));

    // History and presence are the primary's: every worker answers with all of it.
    for (let i = 0; i < 4; i++) {
      const history = await api(url, 'history', { channel, limit: -1 });
      expect((history.body.result as { publications: unknown[] }).publications).toHaveLength(40);
      const stats = await api(url, 'presence_stats', { channel });
      expect(stats.body.result).toEqual({ num_clients: 4, num_users: 4 });
    }

    // A subscriber leaves worker A, misses 10 publications, and recovers them on worker B.
    const [pidA, pidB] = pids as [number, number];
    const mover = perWorker.get(pidA)?.[0] as RecoveringClient;
    mover.drop();
    await publish(40, 50);
    mover.reconnect = true;
    const recovery = await mover.open((port) => pidOfConnection(serverPort, port, pids) === pidB);
    expect(recovery).toEqual({
      wasRecovering: true,
      recovered: true,
      offsets: [41, 42, 43, 44, 45, 46, 47, 48, 49, 50],
    });
    await until(caughtUp(clients, 50), 5000, 'every subscriber at offset 50');

    // kill -9 of worker B: the primary starts a new worker; B's clients reconnect and recover,
    // and the stream (held by the primary) goes on in the same epoch.
    const epoch = clients[0]?.position?.epoch;
    process.kill(pidB, 'SIGKILL');
    await until(() => workerPids(lines).length === 3, 10_000, 'a new worker');
    expect(lines.some((l) => l.msg === 'worker exited unexpectedly; starting a new one')).toBe(true);
    await publish(50, 60);
    await until(caughtUp(clients, 60), 10_000, 'every subscriber at offset 60');
    expect(new Set(clients.map((c) => c.position?.epoch))).toEqual(new Set([epoch]));
    expectClean(ledger.check({ expectAll: true }));
    // The killed worker's presence entries went with it; the reconnected clients are counted once.
    const presenceCount = async () =>
      ((await api(url, 'presence_stats', { channel })).body.result as { num_clients: number }).num_clients;
    await until(async () => (await presenceCount()) === 4, 3000, 'presence of exactly the 4 subscribers');
    const moved = clients.filter((c) => c.closeCodes.length > 0);
    expect(moved.length).toBeGreaterThan(0);
    for (const c of moved) expect(c.subscribes.at(-1)).toMatchObject({ wasRecovering: true, recovered: true });

    // SIGTERM: every client gets 3001 and the primary exits 0 once both workers stopped.
    for (const c of clients) c.reconnect = false;
    const before = clients.map((c) => c.closeCodes.length);
    proc?.kill('SIGTERM');
    await until(() => clients.every((c, i) => c.closeCodes.length > (before[i] ?? 0)), 10_000, 'every client closed');
    expect(clients.map((c) => c.closeCodes.at(-1))).toEqual(clients.map(() => 3001));
    expect(await exit).toBe(0);
  }, 30_000);

  it('with engine redis, each worker connects to Redis and subscribers on both workers see one order', async () => {
    requireBuild();
    const engine = { type: 'redis', url: 'redis://127.0.0.1:6379', prefix: redisPrefix };
    const { lines, url, exit } = await startWorkers(engine);
    const serverPort = Number(new URL(url).port);
    const wsUrl = `${url.replace(/^http/, 'ws')}/connection/websocket`;
    const pids = workerPids(lines);
    const ledger = createLedger();
    const clients = await Promise.all(
      pids.map(async (pid, i) => {
        const client = new RecoveringClient(`redis-sub-${i}`, wsUrl, await token(`u${i}`), channel, ledger);
        await client.open((port) => pidOfConnection(serverPort, port, pids) === pid);
        return client;
      }),
    );
    for (let i = 0; i < 30; i++) {
      const res = await api(url, 'publish', { channel, data: { id: `r${i}` } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ledger.acked(channel, { ...(res.body.result as { offset: number; epoch: string }), id: `r${i}` });
    }
    await until(() => clients.every((c) => c.position?.offset === 30), 5000, 'both subscribers at offset 30');
    expectClean(ledger.check({ expectAll: true }));
    for (const c of clients) c.reconnect = false;
    proc?.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(clients.map((c) => c.closeCodes.at(-1))).toEqual([3001, 3001]);
  }, 20_000);
});
