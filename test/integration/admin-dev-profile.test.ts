// `npx tidings serve` with no config: the banner prints a generated admin password, which logs
// in at /admin of that very process (the built CLI, as a user runs it); a wrong one is refused.
// TIDINGS_ADMIN_PASSWORD replaces it, and the banner then prints none.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const running: ChildProcess[] = [];

afterEach(() => {
  for (const proc of running.splice(0)) proc.kill('SIGKILL');
});

/** Starts the development profile on port 0; resolves with its banner and its URL. */
function serveDev(env: Record<string, string>): Promise<{ banner: string; url: string }> {
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    env: { ...process.env, TIDINGS_LOG_PRETTY: 'false', TIDINGS_MQTT_ENABLED: 'false', ...env },
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
        const url = /Admin {8}(http:\/\/\S+)\/admin/.exec(err)?.[1];
        if (url === undefined) reject(new Error(`no admin URL in the banner:\n${err}`));
        else resolve({ banner: err, url });
      }
    });
    proc.once('exit', (code) => reject(new Error(`tidings serve exited with ${code}:\n${err}`)));
  });
}

const login = (url: string, password: string) =>
  fetch(`${url}/admin/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  });

describe('admin console in the development profile', () => {
  it('logs in with the password the banner prints', { timeout: 60_000 }, async () => {
    const { banner, url } = await serveDev({});
    const password = /Admin pass {3}(\S+)/.exec(banner)?.[1];
    expect(password).toMatch(/^[\w-]{16}$/);
    expect((await fetch(`${url}/admin`)).status).toBe(200);
    const wrong = await login(url, 'not-the-generated-one');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: 'admin_login_failed', message: 'wrong password' } });
    const ok = await login(url, password as string);
    expect(ok.status).toBe(200);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const stats = await fetch(`${url}/admin/api/stats`, { headers: { cookie } });
    expect(stats.status).toBe(200);
  });

  it('uses TIDINGS_ADMIN_PASSWORD instead, and prints no password', { timeout: 60_000 }, async () => {
    const { banner, url } = await serveDev({ TIDINGS_ADMIN_PASSWORD: 'my-own-admin-password' });
    expect(banner).not.toContain('Admin pass');
    expect(banner).not.toContain('my-own-admin-password');
    expect((await login(url, 'my-own-admin-password')).status).toBe(200);
  });
});
