// The dashboard as a person sees it: the page `tidings serve` shows at `/` in the development
// profile, in a real headless Chromium (Debian's `chromium`, which `sudo npm run setup` installs), driven by
// playwright-core. The server runs in-process with the same config and dev token the CLI makes.
import { existsSync } from 'node:fs';
import { signToken } from '@tidings/server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devDemoChannel, devKeyId, resolveServeConfig } from '../../apps/tidings/src/config/dev-profile.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
const screenshot = '/tmp/dashboard.png';

// Never skipped: without the browser the set-up fails with the command that installs it.
describe('dashboard in a real browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let apiKey: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    requireFile(chromiumPath, 'chromium');
    const resolved = resolveServeConfig({ env: { TIDINGS_HTTP_PORT: '0', TIDINGS_LOG_LEVEL: 'silent' } });
    if (resolved.profile !== 'development') throw new Error('expected the development profile');
    const { apiKey: key, hmacSecret } = resolved.secrets;
    if (key === undefined || hmacSecret === undefined) throw new Error('development secrets missing');
    apiKey = key;
    const dashboardToken = await signToken(
      { sub: 'dashboard' },
      { alg: 'HS256', kid: devKeyId, secret: hmacSecret },
      { expiresInSec: 3600 },
    );
    server = await startServer(resolved.config, {
      profile: 'development',
      dashboardToken,
      dashboardChannel: devDemoChannel,
    });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openDashboard(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    page.on('response', (res) => {
      if (res.status() >= 400) pageErrors.push(`${res.status()} ${res.url()}`);
    });
    await page.goto(`${server.url}/`);
    await page.locator('#status', { hasText: /^connected$/ }).waitFor();
    await page.locator('#subs li', { hasText: devDemoChannel }).filter({ hasText: 'subscribed ·' }).waitFor();
    return page;
  }

  async function api(method: string, body: object): Promise<unknown> {
    const res = await fetch(`${server.url}/api/${method}`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  it('connects with the injected token and subscribes to the demo channel', async () => {
    const page = await openDashboard();
    await expect(page.title()).resolves.toBe('Tidings dashboard');
    await page.locator('#health', { hasText: 'health: ok' }).waitFor();
    await page.locator('#ready', { hasText: 'ready: ready' }).waitFor();
    expect(await page.locator('#feed').innerText()).toContain('recoverable');
    expect(await page.locator('#conn-info').innerText()).toContain('dashboard');
    await page.close();
  });

  it('shows a publication made with the server API', async () => {
    const page = await openDashboard();
    await api('publish', { channel: devDemoChannel, data: { text: 'from the API' } });
    const item = page.locator('#feed li', { hasText: 'from the API' });
    await item.waitFor();
    expect(await item.innerText()).toContain('from server');
    await page.close();
  });

  it('publishes from the form; another page and the API history see it', async () => {
    const sender = await openDashboard();
    const watcher = await openDashboard();
    await sender.locator('#pub-data').fill('{"text": "from the page"}');
    await sender.locator('#publish').click();

    await watcher.locator('#feed li', { hasText: 'from the page' }).waitFor();
    const own = sender.locator('#feed li', { hasText: 'from the page' });
    await own.waitFor();
    expect(await own.innerText()).toContain('from dashboard');
    expect(await sender.locator('#pub-error').innerText()).toBe('');

    const history = (await api('history', { channel: devDemoChannel, limit: 10 })) as {
      result: { publications: Array<{ data: unknown }> };
    };
    expect(history.result.publications.map((p) => p.data)).toContainEqual({ text: 'from the page' });

    // The click scrolled the form into view; a full-page shot is read from the top.
    await sender.evaluate('window.scrollTo(0, 0)');
    await sender.screenshot({ path: screenshot, fullPage: true });
    expect(existsSync(screenshot)).toBe(true);
    await sender.close();
    await watcher.close();
  });

  it('explains a rejected publish in the form', async () => {
    const page = await openDashboard();
    await page.locator('#pub-data').fill('{"text": ');
    await page.locator('#publish').click();
    await page.locator('#pub-error', { hasText: 'data is not valid JSON' }).waitFor();
    await page.locator('#pub-channel').fill('nosuchns:room');
    await page.locator('#pub-data').fill('{"text": "x"}');
    await page.locator('#publish').click();
    await page.locator('#pub-error', { hasText: /^102 / }).waitFor();
    await page.close();
  });

  it('raised no script errors in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
