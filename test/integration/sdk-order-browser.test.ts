// Issue 10 in a real browser: the public centrifuge SDK's browser bundle (JSON and Protobuf) in
// Debian's Chromium, driven by playwright-core, against `tidings serve` as its own process.
// Subscribe with recovery, disconnect, 20 publications, reconnect (recovered), then 200 and
// 2,000 concurrent `/api/publish` calls: the page's `publication` handler must see offsets
// 1, 2, 3, … strictly increasing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, requireBuild } from './cluster-harness.js';
import { type OrderServer, startOrderServer } from './sdk-order-server.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
// The SDK's own browser bundles (not in its package exports, so read by path).
const dist = fileURLToPath(new URL('../../node_modules/centrifuge/dist/', import.meta.url));
const bundles = { json: `${dist}centrifuge.js`, protobuf: `${dist}centrifuge.protobuf.js` } as const;

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('order at the centrifuge SDK handler in Chromium', () => {
  let server: OrderServer;
  let browser: Browser;
  const errors: string[] = [];
  beforeAll(async () => {
    requireFile(chromiumPath, 'chromium');
    requireBuild();
    server = await startOrderServer();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // A page fulfilled by playwright counts as non-local: let it reach the loopback server.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-features=LocalNetworkAccessChecks',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await killAll();
  });

  /** A page on the server's own origin (so the Origin check passes) with the SDK bundle loaded. */
  async function sdkPage(flavour: keyof typeof bundles): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const url = `${server.baseUrl}/sdk-order-test.html`;
    await page.route(url, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>order</title>' }),
    );
    await page.goto(url);
    await page.addScriptTag({ content: readFileSync(bundles[flavour], 'utf8') });
    return page;
  }

  for (const flavour of ['json', 'protobuf'] as const) {
    it(`${flavour}: 200 and 2,000 concurrent publications right after a recovered resubscribe`, async () => {
      const page = await sdkPage(flavour);
      const channel = `order:b-${flavour}-${Math.random().toString(36).slice(2, 8)}`;
      await page.evaluate(
        ({ url, token, channel }) => {
          type Sub = { on(event: string, fn: (ctx: never) => void): void; subscribe(): void };
          type Client = { newSubscription(ch: string, o: object): Sub; connect(): void };
          const w = window as unknown as Record<string, unknown> & { Centrifuge: new (...a: unknown[]) => Client };
          const c = new w.Centrifuge(url, { token, minReconnectDelay: 50 });
          const sub = c.newSubscription(channel, { recoverable: true });
          const seen = { offsets: [] as number[], recovered: [] as boolean[] };
          sub.on('publication', (ctx: { offset?: number | string }) => seen.offsets.push(Number(ctx.offset ?? -1)));
          sub.on('subscribed', (ctx: { recovered: boolean }) => seen.recovered.push(ctx.recovered));
          w.client = c;
          w.seen = seen;
          c.connect();
          sub.subscribe();
        },
        { url: server.wsUrl, token: await server.token('browser'), channel },
      );
      const seen = () =>
        page.evaluate(() => (window as unknown as { seen: { offsets: number[]; recovered: boolean[] } }).seen);
      await until(async () => (await seen()).recovered.length === 1, 'first subscribe').catch((e: Error) => {
        throw new Error(`${e.message}; page errors: ${errors.join(' | ')}`);
      });
      await page.evaluate(() => (window as unknown as { client: { disconnect(): void } }).client.disconnect());
      for (let i = 0; i < 20; i++) await server.publish(channel, { i });
      await page.evaluate(() => (window as unknown as { client: { connect(): void } }).client.connect());
      await until(async () => {
        const s = await seen();
        return s.recovered.length === 2 && s.offsets.length === 20;
      }, 'recovery of the 20 missed');
      expect((await seen()).recovered[1]).toBe(true);
      let total = 20;
      for (const n of [200, 2000]) {
        await Promise.all(Array.from({ length: n }, (_, i) => server.publish(channel, { i: total + i })));
        total += n;
        await until(async () => (await seen()).offsets.length >= total, `${n} publications`);
      }
      const { offsets } = await seen();
      const bad = offsets.findIndex((o, i) => i > 0 && o <= offsets[i - 1]!);
      expect(bad, `out of order at ${bad}: ${offsets.slice(Math.max(0, bad - 5), bad + 10).join(',')}`).toBe(-1);
      expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      await page.close();
    }, 120_000);
  }
});
