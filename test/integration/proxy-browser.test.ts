// The connect proxy authenticates a real browser by its cookie: Chromium (Debian's `chromium`,
// driven by playwright-core) logs in to the application, which sets an HttpOnly session cookie,
// then the app's page connects the centrifuge SDK to Tidings with no token anywhere in the page.
// Tidings forwards only the allow-listed cookie to the backend's connect proxy, which names the user.
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { type ProxyBackend, startProxyBackend } from './proxy-backend.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';

// Never skipped: without the browser the set-up fails with the command that installs it.
describe('connect proxy in a real browser', () => {
  let backend: ProxyBackend;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    requireFile(chromiumPath, 'chromium');
    backend = await startProxyBackend();
    server = await startServer(
      loadConfig({
        base: {
          http: { host: '127.0.0.1', port: 0 },
          websocket: { allowedOrigins: [backend.url] },
          proxy: {
            connect: { url: `${backend.url}/connect` },
            rpc: { url: `${backend.url}/rpc` },
            cookies: ['session'],
            staticHeaders: { 'x-backend-secret': 'shared-backend-secret' },
            timeoutMs: 2000,
          },
          log: { level: 'silent' },
        },
      }),
      { logger: silentLogger },
    );
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await backend?.close();
  });

  const pageUrl = () =>
    `${backend.url}/page?ws=${encodeURIComponent(`ws://127.0.0.1:${server.port}/connection/websocket`)}`;

  it('a logged-in browser connects as its user by cookie alone', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${backend.url}/login?as=alice`);
    await page.goto(pageUrl());
    await page.locator('#status', { hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#greeting').innerText()).toBe('hello alice');
    await page.locator('#rpc', { hasText: 'rpc user alice' }).waitFor({ timeout: 15_000 });
    // No token in the page: the session cookie is HttpOnly and nothing else names the user.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.content()).not.toContain('alice-session');
    const call = backend.calls('/connect').at(-1);
    expect(call?.headers.cookie).toBe('session=alice-session');
    expect(call?.body).toMatchObject({ transport: 'websocket', protocol: 'json' });
    await context.close();
  });

  it('a browser without a session is refused with the backend code', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(pageUrl());
    await page.locator('#status', { hasText: 'disconnected 1401' }).waitFor({ timeout: 15_000 });
    await context.close();
  });
});
