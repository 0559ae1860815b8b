// `tidings serve --workers 2` start-up: the development profile's secrets are made once by the
// primary and shared by every worker (one banner, a token valid on both workers), and a worker
// that cannot start fails the whole start.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLedger } from '@tidings/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuild } from './cluster-harness.js';
import { pidOfConnection, RecoveringClient } from './workers-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
const started: ChildProcess[] = [];

afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

function serve(args: string[]) {
  const proc = spawn(process.execPath, [bin, 'serve', '--workers', '2', ...args], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
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

const logLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; url?: string; pid?: number });

describe('tidings serve --workers 2: start-up', () => {
  it('development profile: one banner, and its token is valid on every worker', async () => {
    requireBuild();
    const { proc, out, exit } = serve(['--port', '0']);
    const deadline = Date.now() + 15_000;
    while (!logLines(out.stdout).some((l) => l.msg === 'listening') || !out.stderr.includes('For production')) {
      if (Date.now() > deadline) throw new Error(`no listening line\n${out.stdout}\n${out.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
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
});
