// Real nginx and HAProxy processes for the proxy tests, started from the files in deploy/ with
// ports and runtime paths rewritten by plain string replaces (the placeholders those files
// document), in the foreground, on free loopback ports, with everything under a temp folder.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const deployDir = new URL('../../deploy/', import.meta.url);

/** A proxy running in the foreground; `stop()` kills it, waits for the exit and removes its temp folder. */
export interface ProxyProcess {
  readonly name: 'nginx' | 'haproxy';
  /** Public port (the template's 8080). */
  readonly port: number;
  /** HAProxy's stats port (the template's 8404); undefined for nginx. */
  readonly statsPort: number | undefined;
  /** Everything the process printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Debian installs both under /usr/sbin, which a non-root PATH may lack. */
function binary(name: string): string {
  return existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name;
}

function replaceAll(text: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`deploy template lost its placeholder ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

function workDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tidings-${name}-`));
  // nginx workers run as www-data when the master is root: they must reach their temp folders.
  chmodSync(dir, 0o755);
  return dir;
}

function run(
  name: ProxyProcess['name'],
  dir: string,
  cmd: string,
  args: string[],
  port: number,
  statsPort?: number,
): ProxyProcess {
  const proc: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    name,
    port,
    statsPort,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Certificate files for a proxy that terminates TLS with the snippet of docs/deploy.md. */
export interface ProxyTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate then key in one file (HAProxy's `crt`). */
  readonly pemFile: string;
}

/** The TLS snippet for `proxy` from docs/deploy.md (the fenced block after `<!-- tls:<proxy> -->`). */
export function tlsSnippet(proxy: ProxyProcess['name']): string {
  const doc = readFileSync(new URL('../docs/deploy.md', deployDir), 'utf8');
  const marker = `<!-- tls:${proxy} -->`;
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`docs/deploy.md lost its ${marker} snippet`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(doc.slice(at));
  if (block?.[1] === undefined) throw new Error(`docs/deploy.md: no fenced block after ${marker}`);
  return block[1].trimEnd();
}

/**
 * nginx with deploy/nginx.conf in front of `nodePorts` (exactly two: the template's 8001 and
 * 8002); with `tls`, its public listener terminates TLS with the snippet of docs/deploy.md.
 */
export async function startNginx(nodePorts: readonly [number, number], tls?: ProxyTls): Promise<ProxyProcess> {
  const dir = workDir('nginx');
  const port = await freePort();
  // The server block's own line (8 spaces in): the header comment names `listen 8080;` too.
  const listen =
    tls === undefined
      ? `        listen 127.0.0.1:${port};`
      : replaceAll(tlsSnippet('nginx'), [
          ['listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`],
          ['/etc/tidings/tls/fullchain.pem', tls.certFile],
          ['/etc/tidings/tls/privkey.pem', tls.keyFile],
        ]);
  const conf = replaceAll(readFileSync(new URL('nginx.conf', deployDir), 'utf8'), [
    ['        listen 8080;', listen],
    ['server 127.0.0.1:8001 ', `server 127.0.0.1:${nodePorts[0]} `],
    ['server 127.0.0.1:8002 ', `server 127.0.0.1:${nodePorts[1]} `],
    ['/run/tidings-nginx.pid', join(dir, 'nginx.pid')],
    ['/var/log/nginx/', `${dir}/`],
    ['/var/cache/nginx/tidings/', `${dir}/`],
  ]);
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  return run('nginx', dir, binary('nginx'), ['-p', `${dir}/`, '-c', file, '-g', 'daemon off;'], port);
}

/**
 * HAProxy with deploy/haproxy.cfg in front of `nodePorts` (the template's 8001 and 8002); with
 * `tls`, its public bind terminates TLS with the snippet of docs/deploy.md.
 */
export async function startHaproxy(nodePorts: readonly [number, number], tls?: ProxyTls): Promise<ProxyProcess> {
  const dir = workDir('haproxy');
  const port = await freePort();
  const statsPort = await freePort();
  const bind =
    tls === undefined
      ? `    bind 127.0.0.1:${port}`
      : replaceAll(tlsSnippet('haproxy'), [
          ['bind :443 ', `bind 127.0.0.1:${port} `],
          ['/etc/tidings/tls/tidings.pem', tls.pemFile],
        ]);
  const cfg = replaceAll(readFileSync(new URL('haproxy.cfg', deployDir), 'utf8'), [
    ['    bind :8080', bind],
    ['bind 127.0.0.1:8404', `bind 127.0.0.1:${statsPort}`],
    ['127.0.0.1:8001', `127.0.0.1:${nodePorts[0]}`],
    ['127.0.0.1:8002', `127.0.0.1:${nodePorts[1]}`],
  ]);
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  return run('haproxy', dir, binary('haproxy'), ['-f', file, '-db'], port, statsPort);
}

/** Polls `check` every 50 ms until it holds; throws with `describe()` after `ms`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** HAProxy's view of a backend server ("UP", "DOWN", ...) from its stats CSV. */
export async function haproxyServerStatus(statsPort: number, backend: string, server: string): Promise<string> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
  const header = csv.split('\n')[0]?.replace(/^# /, '').split(',') ?? [];
  const status = header.indexOf('status');
  for (const line of csv.split('\n')) {
    const cells = line.split(',');
    if (cells[0] === backend && cells[1] === server) return cells[status] ?? '';
  }
  throw new Error(`no ${backend}/${server} in HAProxy stats`);
}
