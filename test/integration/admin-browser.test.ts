// The admin console as an operator sees it, in a real headless Chromium (Debian's `chromium`)
// driven by playwright-core: a wrong password is refused, login works, the connection count
// follows test clients, a publication from the form shows in the live tail, the charts draw
// data, the channel browser and the disconnect form work. Screenshots go to a temp dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signToken } from '@tidings/server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
const password = 'browser-admin-password';
const secret = 'admin-browser-secret-0123456789abcdef';
const shots = mkdtempSync(join(tmpdir(), 'tidings-admin-'));

describe('admin console in a real browser', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    requireFile(chromiumPath, 'chromium');
    const config = loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        admin: { password },
        channels: {
          namespaces: {
            room: { historySize: 10, historyTtlMs: 60_000, presence: true, allowSubscribeForClient: true },
          },
        },
        log: { level: 'silent' },
      },
    });
    server = await startServer(config, { logger: silentLogger });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (msg) => {
      // The refused login is an expected 401; anything else (a CSP violation...) is a failure.
      if (msg.type() === 'error' && !msg.text().includes('401')) pageErrors.push(msg.text());
    });
    page.on('response', (res) => {
      if (res.status() >= 400 && res.status() !== 401) pageErrors.push(`${res.status()} ${res.url()}`);
    });
  });

  afterAll(async () => {
    for (const ws of clients) ws.close();
    await browser?.close();
    await server?.close();
  });

  async function connect(user: string, channel?: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    clients.push(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const jwt = await signToken({ sub: user }, { alg: 'HS256', secret }, { expiresInSec: 600 });
    const replies = new Promise<void>((resolve) => {
      let n = 0;
      ws.on('message', (data: Buffer) => {
        n += data
          .toString()
          .split('\n')
          .filter((l) => l !== '').length;
        if (n >= (channel === undefined ? 1 : 2)) resolve();
      });
    });
    ws.send(JSON.stringify({ id: 1, connect: { token: jwt } }));
    if (channel !== undefined) ws.send(JSON.stringify({ id: 2, subscribe: { channel } }));
    await replies;
    return { ws, closed };
  }

  const connections = async () => Number(await page.locator('#stat-connections').innerText());

  it('refuses a wrong password', async () => {
    await page.goto(`${server.url}/admin`);
    await page.locator('#password').fill('not-the-password');
    await page.locator('#login button[type=submit]').click();
    await page.locator('#login-error', { hasText: 'admin_login_failed' }).waitFor();
    expect(await page.locator('#stat-connections').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'login-refused.png') });
  });

  it('logs in and follows the connection count as clients connect and leave', async () => {
    await page.locator('#password').fill(password);
    await page.locator('#login button[type=submit]').click();
    await page.locator('#stat-connections').waitFor();
    await expect.poll(connections, { timeout: 10_000 }).toBe(0);
    const three = await Promise.all([connect('u1'), connect('u2'), connect('u3', 'room:lobby')]);
    await expect.poll(connections, { timeout: 10_000 }).toBe(3);
    three[0]?.ws.close();
    await expect.poll(connections, { timeout: 10_000 }).toBe(2);
    await page.locator('#nodes tbody tr').first().waitFor();
    expect(await page.locator('#nodes tbody tr').count()).toBe(1);
  });

  it('publishes from the form and shows it in the live tail; the charts draw the deliveries', async () => {
    await page.locator('#tail-channel').fill('room:lobby');
    await page.locator('#tail-form button[type=submit]').click();
    await page.locator('#tail-state', { hasText: 'tailing room:lobby' }).waitFor();
    await page.locator('#publish-data').fill('{"from":"the admin form"}');
    await page.locator('#publish button[type=submit]').click();
    await page.locator('#publish-result', { hasText: 'published at offset 1' }).waitFor();
    await page.locator('#tail li', { hasText: '{"from":"the admin form"}' }).waitFor();
    // More publications, so several samples carry deliveries (the tail and u3 on room:lobby).
    for (let i = 0; i < 5; i++) {
      await page.locator('#publish button[type=submit]').click();
      await page.locator('#publish-result', { hasText: `published at offset ${i + 2}` }).waitFor();
    }
    const chart = (name: string) => page.locator(`[data-chart=${name}]`);
    await expect
      .poll(async () => Number(await chart('deliveries').getAttribute('data-max')), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => Number(await chart('latency').getAttribute('data-max')), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await expect.poll(async () => Number(await chart('publications').getAttribute('data-max'))).toBeGreaterThan(0);
    expect(Number(await chart('connections').getAttribute('data-max'))).toBeGreaterThanOrEqual(3);
    for (const name of ['connections', 'publications', 'deliveries', 'latency']) {
      const box = await chart(name).locator('canvas').boundingBox();
      expect(box?.width ?? 0, `${name} chart has a canvas`).toBeGreaterThan(100);
    }
    // The legends name the transports.
    await chart('deliveries').locator('.u-legend', { hasText: 'websocket' }).waitFor();
    await chart('deliveries').locator('.u-legend', { hasText: 'sse' }).waitFor();
    await page.screenshot({ path: join(shots, 'console.png'), fullPage: true });
  });

  it('browses a channel: subscribers, presence and recent history', async () => {
    await page.locator('#channels button', { hasText: 'room:lobby' }).click();
    await page.locator('#channel-detail h3', { hasText: 'room:lobby' }).waitFor();
    await page.locator('#presence li', { hasText: 'u3' }).waitFor();
    expect(await page.locator('#history li').count()).toBe(6);
    expect(await page.locator('#history li').first().innerText()).toContain('#6');
  });

  it('disconnects a user from the form', async () => {
    const dave = await connect('dave');
    await page.locator('#disconnect-user').fill('dave');
    await page.locator('#disconnect button[type=submit]').click();
    await page.locator('#disconnect-result', { hasText: 'disconnected dave' }).waitFor();
    expect(await dave.closed).toBe(3503);
    await page.screenshot({ path: join(shots, 'after-disconnect.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
