// `tidings serve --workers 2` start-up: the development profile's secrets are made once by the
// primary and shared by every worker (one banner, a token valid on both workers), and a worker
// that cannot start fails the whole start.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLedger } from '@tidings/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuild, until } from './cluster-harness.js';
import { pidOfConnection, RecoveringClient } from './workers-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
const started: ChildProcess[] = [];

afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

function serve(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, [bin, 'serve', '--workers', '2', ...args], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  const out = { stdout: '', stderr: '' };
  proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out.stdout += c;
  });
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
    out.stderr += c;
  });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, out, exit };
}

/** The process state letter from /proc (R, S, T, Z, ...), or "gone". */
function stateOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .charAt(0);
  } catch {
    return 'gone';
  }
}

const logLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; url?: string; pid?: number });

async function listening(out: { stdout: string; stderr: string }): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!logLines(out.stdout).some((l) => l.msg === 'listening') || !out.stderr.includes('For production')) {
    if (Date.now() > deadline) throw new Error(`no listening line\n${out.stdout}\n${out.stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('tidings serve --workers 2: start-up and stop', () => {
  it('development profile: one banner, and its token is valid on every worker', async () => {
    requireBuild();
    const { proc, out, exit } = serve(['--port', '0']);
    await listening(out);
    expect(out.stderr.split('development profile').length - 1).toBe(1);
    expect(out.stderr).toContain('Workers      2 processes on one port');
    const token = /Dev token {4}(\S+)/.exec(out.stderr)?.[1] ?? '';
    const url = logLines(out.stdout).find((l) => l.msg === 'listening')?.url ?? '';
    const port = Number(new URL(url).port);
    const pids = logLines(out.stdout)
      .filter((l) => l.msg === 'worker listening')
      .map((l) => l.pid as number);
    const wsUrl = `${url.replace(/^http/, 'ws')}/connection/websocket`;
    for (const pid of pids) {
      const client = new RecoveringClient(`dev-${pid}`, wsUrl, token, 'demo:chat', createLedger());
      // Connecting (token verified) and subscribing succeed on this worker.
      await client.open((local) => pidOfConnection(port, local, pids) === pid);
      client.drop();
    }
    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 20_000);

  it('fails with exit code 1 when a worker cannot listen', async () => {
    requireBuild();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const { out, exit } = serve(['--port', String(port)]);
    expect(await exit).toBe(1);
    busy.close();
    expect(out.stderr).toContain(`port ${port} is in use`);
    expect(out.stderr).toMatch(/worker \d exited \(code 1\) before it listened/);
  }, 20_000);

  it('kills a worker that does not stop within http.shutdownTimeoutMs and exits 1', async () => {
    requireBuild();
    const { proc, out, exit } = serve(['--port', '0'], { TIDINGS_HTTP_SHUTDOWN_TIMEOUT_MS: '500' });
    await listening(out);
    const pids = logLines(out.stdout)
      .filter((l) => l.msg === 'worker listening')
      .map((l) => l.pid as number);
    const stuck = pids[0] as number;
    process.kill(stuck, 'SIGSTOP');
    proc.kill('SIGTERM');
    expect(await exit).toBe(1);
    expect(logLines(out.stdout).some((l) => l.msg === 'graceful shutdown timed out; killing the workers')).toBe(true);
    // The stopped worker was killed, not left behind (gone, or a zombie waiting to be reaped).
    await until(() => stateOf(stuck) === 'gone' || stateOf(stuck) === 'Z', 2000, 'the stuck worker killed');
  }, 20_000);
});
