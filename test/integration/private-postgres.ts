// A PostgreSQL server of one test only (never the shared one on 5432, which other tests use):
// initdb in a temp folder, a free port, its socket in that folder. When the tests run as root,
// the server runs as the `postgres` user (initdb refuses root).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const asRoot = userInfo().uid === 0;

/** `tool` from PATH, else from the newest Debian server package (/usr/lib/postgresql/<v>/bin keeps them off PATH). */
function pgTool(tool: string): string {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, tool)));
  if (onPath) return tool;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', tool))) return join(root, v, 'bin', tool);
  throw new Error(`${tool} not found: install the postgresql server package (scripts/setup.sh does)`);
}

function pg(name: string, args: string[]): void {
  const tool = pgTool(name);
  const command = asRoot ? 'runuser' : tool;
  const argv = asRoot ? ['-u', 'postgres', '--', tool, ...args] : args;
  execFileSync(command, argv, { stdio: 'pipe', timeout: 60_000 });
}

export class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'tidings-pg-'));
  readonly data = join(this.dir, 'data');
  readonly port: number;

  constructor(port: number) {
    this.port = port;
    chmodSync(this.dir, 0o777);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** initdb (trust auth, no fsync: the test restarts the server, it never crashes the machine). */
  init(): void {
    pg('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  }

  start(): void {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    pg('pg_ctl', ['-D', this.data, '-o', opts, '-l', join(this.dir, 'log'), '-w', '-t', '30', 'start']);
  }

  /** `pg_ctl stop -m immediate`: every backend is killed, as in a crash; recovery runs on the next start. */
  stopImmediate(): void {
    pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stopImmediate();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
