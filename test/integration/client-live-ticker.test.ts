// examples/live-ticker runs for real, as the README says: `tidings serve` with no config (the
// development profile) serves the page at /examples/live-ticker/ with the @tidings/client browser
// bundle and feeds it demo prices; in Chromium the prices update live over WebSocket. The test
// writes a screenshot of the page to a temp folder (not committed) and prints its path.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './cluster-harness.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
const bin = fileURLToPath(new URL('../../apps/tidings/bin/tidings.js', import.meta.url));
let server: ChildProcess;
let url: string;
let browser: Browser;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  requireFile(chromiumPath, 'chromium');
  requireBuild();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));
  server = spawn(process.execPath, [bin, 'serve', '--port', String(port)], { env, stdio: 'ignore' });
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300 || server.exitCode !== null) throw new Error('tidings serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

describe('examples/live-ticker on tidings serve (development profile)', () => {
  it('shows prices updating live in Chromium (screenshot in a temp folder)', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Without the trailing slash: redirected, so the page's relative bundle URL resolves.
    await page.goto(`${url}/examples/live-ticker`);
    expect(page.url()).toBe(`${url}/examples/live-ticker/`);
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent === 'connected over websocket-json',
    );
    const ticks = () => page.$$eval('td.ticks', (cells) => cells.map((c) => Number.parseInt(c.textContent ?? '0', 10)));
    await page.waitForFunction(
      () => [...document.querySelectorAll('td.ticks')].every((c) => Number.parseInt(c.textContent ?? '0', 10) >= 2),
      undefined,
      { timeout: 20_000 },
    );
    const first = await ticks();
    const price = await page.$eval('#row-AAPL .price', (c) => c.textContent ?? '');
    expect(price).toMatch(/^\d+\.\d\d$/);
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll('td.ticks')].reduce((n, c) => n + Number.parseInt(c.textContent ?? '0', 10), 0) >
        before + 10,
      first.reduce((a, b) => a + b, 0),
    );
    const shot = join(mkdtempSync(join(tmpdir(), 'tidings-live-ticker-')), 'live-ticker.png');
    await page.screenshot({ path: shot });
    console.log(`live-ticker screenshot: ${shot}`);
    expect(errors).toEqual([]);
  }, 60_000);
});
