import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a supervised process is; decides how it is started and how "ready" is detected. */
export type SupervisedKind = 'redis' | 'nats' | 'node';

/** The state of a supervised process as the supervisor last left it. */
export type SupervisedState = 'running' | 'paused' | 'killed' | 'stopped';

/** One process under supervision. Ports stay fixed across restarts, so clients find it again. */
export interface Supervised {
  readonly name: string;
  readonly kind: SupervisedKind;
  readonly port: number;
  readonly state: SupervisedState;
  /** `http://127.0.0.1:<port>` for nodes, `redis://…` / `nats://…` for services. */
  readonly url: string;
}

/** Options of `Supervisor`. */
export interface SupervisorOptions {
  /** Path of the `tidings` CLI entry (apps/tidings/bin/tidings.js). */
  readonly tidingsBin: string;
  /** Binaries; default from PATH. */
  readonly redisServer?: string;
  readonly natsServer?: string;
  /** Start timeout of each process; default 20 s. */
  readonly startTimeoutMs?: number;
  /** Called with one readable line per action (kill, pause, restart…). */
  readonly log?: (line: string) => void;
}

interface Entry {
  name: string;
  kind: SupervisedKind;
  port: number;
  state: SupervisedState;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts private Redis and NATS servers and `tidings serve` nodes in one temp folder, and
 * applies process faults to them: `kill` (SIGKILL), `pause`/`resume` (SIGSTOP/SIGCONT) and
 * `restart` on the same port. Never touches the machine's shared services. `stopAll` ends
 * everything it started, whatever state it is in; call it in a `finally`.
 */
export class Supervisor {
  readonly dir = mkdtempSync(join(tmpdir(), 'tidings-nemesis-'));
  readonly #options: SupervisorOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /** A private redis-server; `aof` turns on the append-only file with fsync on every write. */
  async startRedis(name: string, options: { aof: boolean }): Promise<Supervised> {
    const port = await freeTcpPort();
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    args.push(...(options.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    return this.#start({ name, kind: 'redis', port, command: this.#options.redisServer ?? 'redis-server', args });
  }

  /** A private nats-server with JetStream storing in its own folder (kept across restarts). */
  async startNats(name: string): Promise<Supervised> {
    const port = await freeTcpPort();
    const dir = join(this.dir, name);
    mkdirSync(dir, { recursive: true });
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
    return this.#start({ name, kind: 'nats', port, command: this.#options.natsServer ?? 'nats-server', args });
  }

  /** A `tidings serve` node on `config` (written as its config file), on a fixed free port. */
  async startNode(name: string, config: Record<string, unknown>): Promise<Supervised> {
    const port = await freeTcpPort();
    const file = join(this.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    const args = [this.#options.tidingsBin, 'serve', '--config', file, '--port', String(port)];
    return this.#start({ name, kind: 'node', port, command: process.execPath, args });
  }

  /** The process named `name`, as it is now. */
  get(name: string): Supervised {
    return this.#view(this.#entry(name));
  }

  /** Every process, in start order. */
  list(): Supervised[] {
    return [...this.#entries.values()].map((e) => this.#view(e));
  }

  /** SIGKILL (the process gets no chance to flush or say goodbye), then waits for the exit. */
  async kill(name: string): Promise<void> {
    const e = this.#entry(name);
    if (e.proc !== undefined && e.state !== 'killed' && e.state !== 'stopped') {
      e.proc.kill('SIGCONT');
      e.proc.kill('SIGKILL');
      await e.exited;
    }
    e.state = 'killed';
    this.#log(`kill -9 ${name}`);
  }

  /** SIGSTOP: the process holds its sockets but answers nothing until `resume`. */
  pause(name: string): void {
    const e = this.#entry(name);
    if (e.state !== 'running') return;
    e.proc?.kill('SIGSTOP');
    e.state = 'paused';
    this.#log(`SIGSTOP ${name}`);
  }

  /** SIGCONT after `pause`. */
  resume(name: string): void {
    const e = this.#entry(name);
    if (e.state !== 'paused') return;
    e.proc?.kill('SIGCONT');
    e.state = 'running';
    this.#log(`SIGCONT ${name}`);
  }

  /** Starts a killed or stopped process again on the same port and waits until it accepts. */
  async restart(name: string): Promise<void> {
    const e = this.#entry(name);
    if (e.state === 'running' || e.state === 'paused') await this.kill(name);
    await this.#launch(e);
    this.#log(`restarted ${name} on port ${e.port}`);
  }

  /** Ends every process (SIGKILL) and removes the temp folder. */
  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.#entries.values()].map(async (e) => {
        if (e.proc !== undefined && e.proc.exitCode === null && e.proc.signalCode === null) {
          e.proc.kill('SIGCONT');
          e.proc.kill('SIGKILL');
          await e.exited;
        }
        e.state = 'stopped';
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #start(spec: Omit<Entry, 'state' | 'proc' | 'exited' | 'env'>): Promise<Supervised> {
    if (this.#entries.has(spec.name)) throw new Error(`supervisor: ${spec.name} already exists`);
    const env = spec.kind === 'node' ? { ...this.#baseEnv, TIDINGS_LOG_PRETTY: 'false' } : this.#baseEnv;
    const e: Entry = { ...spec, env, state: 'stopped', proc: undefined, exited: Promise.resolve() };
    this.#entries.set(spec.name, e);
    await this.#launch(e);
    this.#log(`started ${spec.kind} ${spec.name} on port ${spec.port}`);
    return this.#view(e);
  }

  async #launch(e: Entry): Promise<void> {
    const proc = spawn(e.command, e.args, { env: e.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => {
      stderr = (stderr + c).slice(-2000);
    });
    e.proc = proc;
    e.exited = new Promise((r) => proc.once('exit', () => r()));
    e.state = 'running';
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 20_000);
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${e.name} exited at start (${proc.exitCode}): ${stderr}`);
      if (await this.#ready(e)) return;
      if (Date.now() > deadline) throw new Error(`${e.name} did not accept connections on ${e.port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async #ready(e: Entry): Promise<boolean> {
    if (e.kind !== 'node') return portAccepts(e.port);
    try {
      const res = await fetch(`http://127.0.0.1:${e.port}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  #entry(name: string): Entry {
    const e = this.#entries.get(name);
    if (e === undefined) throw new Error(`supervisor: no process named ${name}`);
    return e;
  }

  #view(e: Entry): Supervised {
    const scheme = e.kind === 'node' ? 'http' : e.kind;
    return { name: e.name, kind: e.kind, port: e.port, state: e.state, url: `${scheme}://127.0.0.1:${e.port}` };
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}
