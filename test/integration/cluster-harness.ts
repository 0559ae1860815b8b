// Processes for the multi-node tests: a private redis-server in a temp folder on a free port
// (never the shared 6379, since these tests kill, pause and restart it), `tidings serve` nodes on
// that Redis or on NATS JetStream, spawned from the built binary, and a TCP proxy standing in for a
// load balancer.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));

export const secret = 'cluster-redis-secret-0123456789abcdef';
export const apiKey = 'cluster-redis-api-key-0123456789';

/** Fails (never skips) when the CLI was not built: the nodes run the built binary. */
export function requireBuild(): void {
  if (!existsSync(join(root, 'apps/tidings/dist/cli.js'))) {
    throw new Error('apps/tidings is not built: run `npm run build` first (npm test does)');
  }
}

/** Every process a test file started, so `killAll` can end them whatever happened. */
const started = new Set<ChildProcess>();

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every 25 ms; throws `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(25);
  }
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A redis-server of this test only; `persistent` turns on the AOF with fsync on every write. */
export class PrivateRedis {
  readonly port: number;
  readonly dir = mkdtempSync(join(tmpdir(), 'tidings-cluster-redis-'));
  readonly #persistent: boolean;
  #proc: ChildProcess | undefined;

  constructor(port: number, persistent: boolean) {
    this.port = port;
    this.#persistent = persistent;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.#persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no', '--save', ''];
    const proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...persistence],
      { stdio: 'ignore' },
    );
    started.add(proc);
    this.#proc = proc;
    await until(async () => (await this.cli('PING')) === 'PONG', 5000, `redis-server on ${this.port}`);
  }

  /** SIGKILL, then waits for the exit. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.#proc?.kill(sig);
  }

  /**
   * Runs redis-cli against this server; resolves with trimmed stdout ('' on failure). Async, so
   * publishers and clients in this process keep running meanwhile.
   */
  cli(...args: string[]): Promise<string> {
    return new Promise((resolve) => {
      execFile('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8', timeout: 3000 }, (_, stdout) =>
        resolve((stdout ?? '').trim()),
      );
    });
  }
}

/** One `tidings serve` process. */
export interface NodeProcess {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/** The `engine` section of a node config: `{ type: 'redis', url, prefix, ... }`, `{ type: 'nats', ... }`. */
export type EngineConfig = { readonly type: 'redis' | 'nats' } & Record<string, unknown>;

/** The Redis engine section the Redis cluster tests use: 1 s connect and command timeouts. */
export const redisEngine = (url: string, prefix: string): EngineConfig => ({
  type: 'redis',
  url,
  prefix,
  connectTimeoutMs: 1000,
  commandTimeoutMs: 1000,
});

/** Writes the node config (the given `engine`, a `feed` namespace with history) and returns its path. */
export function nodeConfig(dir: string, engine: EngineConfig): string {
  const feed = {
    historySize: 20_000,
    historyTtlMs: 600_000,
    allowRecovery: true,
    presence: true,
    allowSubscribeForClient: true,
  };
  const file = join(dir, 'tidings.json');
  writeFileSync(
    file,
    JSON.stringify({
      http: { host: '127.0.0.1', port: 0 },
      engine,
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: { namespaces: { feed } },
      log: { level: 'info' },
    }),
  );
  return file;
}

/** Spawns `tidings serve --config F --port P` (0: any) and resolves with the URL of its `listening` line. */
export function spawnNode(name: string, configFile: string, port = 0): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [bin, 'serve', '--config', configFile, '--port', String(port)], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8');
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  const exit = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no listening line in 15 s\n${out}\n${err}`)), 15_000);
    let found = false;
    proc.stdout?.on('data', (chunk: string) => {
      if (found) return;
      out += chunk;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url !== undefined) {
          found = true;
          clearTimeout(timer);
          const url = entry.url;
          const kill = async () => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
            await exit;
          };
          resolve({ name, url, port: Number(new URL(url).port), proc, kill });
          return;
        }
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${name} exited before listening\n${out}\n${err}`));
    });
  });
}

/** SIGKILLs every process this file started (afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...started].map(async (proc) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    }),
  );
  started.clear();
}

/**
 * A TCP proxy to a switchable node, as a load balancer whose health check moved a backend out:
 * new connections go to the current target; open ones live and die with their upstream.
 */
export class SwitchProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  target: number;
  port = 0;

  constructor(target: number) {
    this.target = target;
    this.#server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.target });
      for (const s of [client, upstream]) this.#sockets.add(s);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server.close(r));
  }
}

/** POST /api/<method> with the API key; resolves with the status and parsed body. */
export async function api(
  base: string,
  method: string,
  body: object,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** GET /readyz status (0 when the node does not answer within 1 s). */
export async function readyz(base: string): Promise<number> {
  try {
    return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

/** A private Redis and three nodes on it: A (publishing side), B and C (subscribers' side). */
export interface Cluster {
  readonly redis: PrivateRedis;
  readonly prefix: string;
  readonly nodes: { a: NodeProcess; b: NodeProcess; c: NodeProcess };
}

/** Nodes A, B and C as separate processes, all on the config in `configFile`. */
export async function startNodes(configFile: string): Promise<Cluster['nodes']> {
  requireBuild();
  const [a, b, c] = await Promise.all(['A', 'B', 'C'].map((name) => spawnNode(name, configFile)));
  if (a === undefined || b === undefined || c === undefined) throw new Error('cluster: a node did not start');
  return { a, b, c };
}

/** Starts the private Redis, then nodes A, B and C as separate processes. */
export async function startCluster(persistent: boolean): Promise<Cluster> {
  requireBuild();
  const redis = new PrivateRedis(await freePort(), persistent);
  await redis.start();
  const prefix = `tidings-cluster:${process.pid}:`;
  const nodes = await startNodes(nodeConfig(redis.dir, redisEngine(redis.url, prefix)));
  return { redis, prefix, nodes };
}

/** The WebSocket endpoint of a node or proxy port. */
export const wsUrl = (port: number) => `ws://127.0.0.1:${port}/connection/websocket`;
