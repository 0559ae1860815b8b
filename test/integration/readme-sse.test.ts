// The README's 30-second example, run as written against `tidings serve` (the development profile
// with TIDINGS_API_KEYS): the SSE output its sample shows is what curl really prints, line for
// line, up to the values that differ in every run (epoch, cursor ids, client id).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTool } from './system-tools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const apiKey = 'my-dev-api-key-0123456789';
const running: ChildProcess[] = [];

afterAll(() => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** The first ```text block after the README's publish example: the sample SSE output. */
function readmeSample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf('## The 30-second example');
  const block = /```text\n([\s\S]*?)```/.exec(readme.slice(from));
  if (block?.[1] === undefined) throw new Error('README: no ```text block in the 30-second example');
  return block[1];
}

/** Replaces what differs from run to run with placeholders. */
function normalize(text: string): string {
  const epoch = /"epoch":"([^"]+)"/.exec(text)?.[1];
  let out = text.replace(/^id: \S+$/gm, 'id: <cursor>').replace(/"client":"[0-9a-f-]{36}"/g, '"client":"<client>"');
  if (epoch !== undefined) out = out.replaceAll(epoch, '<epoch>');
  return out;
}

async function serveDev(): Promise<string> {
  const { TIDINGS_API_KEYS: _unused, ...inherited } = process.env;
  const proc = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    env: { ...inherited, TIDINGS_API_KEYS: apiKey, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${err}`)), 20_000);
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const url = /Dashboard {4}(http:\/\/127\.0\.0\.1:\d+)\//.exec(err)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve(url);
      }
    });
  });
}

describe('README SSE sample', () => {
  it('is what curl -N prints for the stream and the published message', { timeout: 60_000 }, async () => {
    const curlBin = requireTool('curl', 'curl');
    const url = await serveDev();
    const curl = spawn(curlBin, ['-sN', `${url}/connection/sse?channel=demo:chat`]);
    running.push(curl);
    let out = '';
    const waiting = new Set<() => void>();
    curl.stdout.setEncoding('utf8');
    curl.stdout.on('data', (chunk: string) => {
      out += chunk;
      for (const check of waiting) check();
    });
    const seen = (needle: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`curl printed no ${needle} in 20 s:\n${out}`)), 20_000);
        const check = (): void => {
          if (!out.includes(needle)) return;
          clearTimeout(timer);
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      });
    await seen('"type":"connected"');
    const reply = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'demo:chat', data: { text: 'hello from curl' } }),
    });
    expect(reply.status).toBe(200);
    await seen('"hello from curl"}}\n\n');
    // The stream ends each event with a blank line; the code block ends at the last data line.
    expect(normalize(out).trimEnd()).toBe(normalize(readmeSample()).trimEnd());
  });
});
