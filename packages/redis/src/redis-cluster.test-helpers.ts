import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

/** A private Redis Cluster of masters on loopback, in a temp folder, for one test file. */
export interface PrivateCluster {
  /** `redis://127.0.0.1:<port>` of every master, in start order. */
  readonly urls: readonly string[];
  /** The redis-server processes, in the order of `urls` (e.g. to SIGSTOP one). */
  readonly processes: readonly ChildProcess[];
  /** Runs one command on the master at `urls[index]`. */
  command(index: number, args: string[]): Promise<unknown>;
  /** Index (into `urls`) of the master owning the slot of `key` (or shard channel). */
  shardOf(key: string): Promise<number>;
  /** Kills the master at `urls[index]` with SIGKILL; resolves when it has exited. */
  kill(index: number): Promise<void>;
  /**
   * Starts the killed master at `urls[index]` again on the same ports and cluster config file
   * (same node id and slots, no data: no persistence); resolves once every node reports
   * `cluster_state:ok` again.
   */
  revive(index: number): Promise<void>;
  /** Kills every process and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

const SLOTS = 16384;

/** A port the OS considers free right now (bind to 0, read, release). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function within<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`private cluster: ${what} not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function nodeClient(port: number) {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: 20 } });
  client.on('error', () => undefined);
  return client;
}

async function clusterOk(clients: ReadonlyArray<ReturnType<typeof nodeClient>>, size: number): Promise<void> {
  // Gossip converges in a second or two on a quiet machine; a loaded CI machine needs far more.
  await within(40_000, 'cluster_state:ok', async () => {
    for (;;) {
      const infos = await Promise.all(
        clients.map((c) => (c.sendCommand(['CLUSTER', 'INFO']) as Promise<string>).catch(() => '')),
      );
      const ok = infos.every(
        (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`),
      );
      if (ok) return;
      await pause(50);
    }
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `size` redis-server processes with cluster mode on free ports (client and bus port
 * each), assigns the slots in equal ranges, joins them with CLUSTER MEET and waits until every
 * node reports `cluster_state:ok` with all nodes known (what `redis-cli --cluster create` does,
 * without its fixed one-second waits). No persistence, no replicas.
 */
export async function startPrivateCluster(size = 3): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-redis-cluster-'));
  const processes: ChildProcess[] = [];
  const argv: string[][] = [];
  const clients: Array<ReturnType<typeof nodeClient>> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const client of clients) client.destroy();
    await Promise.all(
      processes.map(
        (proc) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once('exit', () => resolve());
            proc.kill('SIGCONT');
            proc.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const ports: Array<{ port: number; bus: number }> = [];
  try {
    for (let i = 0; i < size; i++) ports.push({ port: await freePort(), bus: await freePort() });
    for (const { port, bus } of ports) {
      const args = ['--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1'];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`);
      args.push('--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no');
      argv.push(args);
      processes.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const { port } of ports) clients.push(nodeClient(port));
    await within(5000, 'redis-server start', () => Promise.all(clients.map((c) => c.connect())));
    const per = Math.ceil(SLOTS / size);
    await Promise.all(
      clients.map(async (client, i) => {
        await client.sendCommand([
          'CLUSTER',
          'ADDSLOTSRANGE',
          String(i * per),
          String(Math.min(SLOTS, (i + 1) * per) - 1),
        ]);
        await client.sendCommand(['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
      }),
    );
    const [first] = clients;
    if (first === undefined) throw new Error('private cluster: size must be at least 1');
    for (const { port, bus } of ports.slice(1)) {
      await first.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(port), String(bus)]);
    }
    await clusterOk(clients, size);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    urls: ports.map(({ port }) => `redis://127.0.0.1:${port}`),
    processes,
    command: (index, args) => {
      const client = clients[index];
      if (client === undefined) throw new Error(`private cluster: no node ${index}`);
      return client.sendCommand(args);
    },
    shardOf: async (key) => {
      const [first] = clients;
      const slot = Number(await first?.sendCommand(['CLUSTER', 'KEYSLOT', key]));
      return Math.floor(slot / Math.ceil(SLOTS / size));
    },
    kill: async (index) => {
      const proc = processes[index];
      if (proc === undefined) throw new Error(`private cluster: no node ${index}`);
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
    revive: async (index) => {
      const [args, client] = [argv[index], clients[index]];
      if (args === undefined || client === undefined) throw new Error(`private cluster: no node ${index}`);
      processes[index] = spawn('redis-server', args, { stdio: 'ignore' });
      // The helper's own client reconnects by itself (reconnectStrategy 20 ms).
      await within(5000, 'restarted redis-server', async () => {
        while (!client.isReady) await pause(20);
      });
      await clusterOk(clients, size);
    },
    stop,
  };
}
