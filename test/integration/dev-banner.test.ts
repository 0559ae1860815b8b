// The development banner's curl line is ready to copy: run as printed by bash, it publishes —
// with the generated key, and with keys the user set in TIDINGS_API_KEYS (never printed).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from './system-tools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const running: ChildProcess[] = [];

afterEach(() => {
  for (const proc of running.splice(0)) proc.kill('SIGKILL');
});

/** Starts the development profile on port 0 and resolves with its banner once it is printed. */
function serveDev(env: Record<string, string>): Promise<string> {
  const { TIDINGS_API_KEYS: _unused, ...inherited } = process.env;
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    env: { ...inherited, TIDINGS_LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${err}`)), 20_000);
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
      if (err.includes('For production')) {
        clearTimeout(timer);
        resolve(err);
      }
    });
    proc.once('exit', (code) => reject(new Error(`tidings serve exited with ${code}:\n${err}`)));
  });
}

/** The three lines of the banner's curl command, as a user would paste them. */
function curlCommand(banner: string): string {
  const start = banner.indexOf('    curl -sS');
  expect(start).toBeGreaterThan(-1);
  return banner.slice(start).split('\n').slice(0, 3).join('\n');
}

describe('development banner curl line', () => {
  it('publishes with the generated key when pasted into bash', { timeout: 60_000 }, async () => {
    requireTool('curl', 'curl');
    const banner = await serveDev({});
    const run = spawnSync('bash', ['-c', curlCommand(banner)], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: {} });
  });

  it('publishes with the first key of TIDINGS_API_KEYS, which the banner never prints', {
    timeout: 60_000,
  }, async () => {
    requireTool('curl', 'curl');
    const keys = 'first-user-api-key-0123456789,second-user-api-key-0123456789';
    const banner = await serveDev({ TIDINGS_API_KEYS: keys });
    expect(banner).not.toContain('first-user-api-key');
    const command = curlCommand(banner);
    const run = spawnSync('bash', ['-c', command], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, TIDINGS_API_KEYS: keys },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: {} });
    // Without the variable the same line is refused: the key really came from it.
    const without = spawnSync('bash', ['-c', `${command} -w '\\n%{http_code}'`], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, TIDINGS_API_KEYS: '' },
    });
    expect(without.stdout.trim().split('\n').pop()).toBe('401');
  });
});
