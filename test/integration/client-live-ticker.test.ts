// examples/live-ticker runs for real: the example server, its page in Chromium with the
// @tidings/client bundle it serves; prices update live over WebSocket. The test writes a
// screenshot of the page to a temp folder (not committed) and prints its path.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './cluster-harness.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
interface TickerApp {
  url: string;
  close(): Promise<void>;
}
let app: TickerApp;
let browser: Browser;

beforeAll(async () => {
  requireFile(chromiumPath, 'chromium');
  requireBuild();
  const { start } = (await import('../../examples/live-ticker/server.mjs')) as {
    start: (o: { port: number; intervalMs: number }) => Promise<TickerApp>;
  };
  app = await start({ port: 0, intervalMs: 40 });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('examples/live-ticker', () => {
  it('shows prices updating live in Chromium (screenshot in a temp folder)', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}/`);
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
