// @tidings/client in real Chromium (playwright-core, Debian's chromium) against an in-process
// `tidings serve`: publishes made offline (Chromium's network emulation) are kept in IndexedDB,
// survive a page reload and are delivered exactly once when the page is back online; a page whose
// WebSocket upgrades start being refused mid-stream switches to SSE and loses and duplicates
// nothing, in order.
import { build } from 'esbuild';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { signToken } from '../../packages/server/src/index.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireFile } from './system-tools.js';

const chromiumPath = '/usr/bin/chromium';
const secret = 'client-browser-secret-0123456789abcdef0123456789';
const apiKey = 'client-browser-api-key-0123456789';
let server: RunningServer;
let base = '';
let browser: Browser;
let bundle = '';
const errors: string[] = [];

beforeAll(async () => {
  requireFile(chromiumPath, 'chromium');
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: {
          namespaces: {
            br: {
              allowSubscribeForClient: true,
              allowPublishForClient: true,
              historySize: 10_000,
              historyTtlMs: 300_000,
              forceRecovery: true,
            },
          },
        },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  base = `http://127.0.0.1:${server.port}`;
  // The SDK as an application would ship it: one browser bundle of @tidings/client + jsonCodec.
  const out = await build({
    stdin: {
      contents: "export * from '@tidings/client'; export { jsonCodec } from '@tidings/protocol';",
      resolveDir: new URL('../..', import.meta.url).pathname,
    },
    alias: {
      '@tidings/client': new URL('../../packages/client/src/index.ts', import.meta.url).pathname,
      '@tidings/protocol': new URL('../../packages/protocol/src/index.ts', import.meta.url).pathname,
    },
    bundle: true,
    format: 'iife',
    globalName: 'Tidings',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  bundle = out.outputFiles[0]?.text ?? '';
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-features=LocalNetworkAccessChecks',
    ],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 });

/** A page on the server's own origin (the Origin check passes, IndexedDB belongs to it) with the SDK. */
async function sdkPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  const url = `${base}/client-browser-test.html`;
  await page.route(url, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>t</title>' }),
  );
  await page.goto(url);
  await page.addScriptTag({ content: bundle });
  return page;
}

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function history(channel: string): Promise<unknown[]> {
  const res = await fetch(`${base}/api/history`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ channel, limit: 100 }),
  });
  const body = (await res.json()) as { result: { publications: Array<{ data: unknown }> } };
  return body.result.publications.map((p) => p.data);
}

/** Starts a client in the page (WebSocket, then SSE) and exposes it as `window.client`. */
async function startClient(
  page: Page,
  sub: string,
  options: { outbox?: boolean; upgradeAfterMs?: number; refuseStreams?: boolean; fetchStreamOnly?: boolean } = {},
) {
  const refuse = options.refuseStreams === true;
  await page.evaluate(
    ({ wsUrl, sseUrl, emulationUrl, pollUrl, streamUrl, fetchStreamOnly, tok, outbox, upgradeAfterMs }) => {
      type T = Record<string, never> & {
        TidingsClient: new (o: object) => unknown;
        webSocketTransport: (o: object) => unknown;
        sseTransport: (o: object) => unknown;
        pollTransport: (o: object) => unknown;
        fetchStreamTransport: (o: object) => unknown;
        IndexedDbOutboxStore: new () => unknown;
        jsonCodec: unknown;
      };
      const w = window as unknown as Record<string, unknown> & { Tidings: T };
      const t = w.Tidings;
      // Stands for a proxy that starts refusing upgrades: while `blockUpgrades` is set, a new
      // socket's handshake is answered 404.
      const sockets: WebSocket[] = [];
      w.sockets = sockets;
      class SwitchableWebSocket extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(w.blockUpgrades === true ? url.replace('/connection/websocket', '/blocked') : url, protocols);
          sockets.push(this);
        }
      }
      w.client = new t.TidingsClient({
        transports: fetchStreamOnly
          ? [t.fetchStreamTransport({ url: streamUrl, emulationUrl, codec: t.jsonCodec })]
          : [
              t.webSocketTransport({ url: wsUrl, codec: t.jsonCodec, WebSocket: SwitchableWebSocket }),
              t.sseTransport({ url: sseUrl, emulationUrl, codec: t.jsonCodec }),
              t.pollTransport({ url: pollUrl, codec: t.jsonCodec, maxIntervalMs: 200 }),
            ],
        getToken: async () => tok,
        backoff: { minDelayMs: 100, maxDelayMs: 400 },
        ...(outbox ? { outbox: new t.IndexedDbOutboxStore() } : {}),
        ...(upgradeAfterMs === undefined ? {} : { upgradeAfterMs }),
      });
    },
    {
      // refuseStreams: the server answers both the upgrade and the SSE stream 404.
      wsUrl: `ws://127.0.0.1:${server.port}/connection/${refuse ? 'refused' : 'websocket'}`,
      sseUrl: `${base}/connection/${refuse ? 'refused-sse' : 'sse'}`,
      pollUrl: `${base}/connection/poll`,
      streamUrl: `${base}/connection/http_stream`,
      fetchStreamOnly: options.fetchStreamOnly === true,
      emulationUrl: `${base}/emulation`,
      tok: await token(sub),
      outbox: options.outbox === true,
      upgradeAfterMs: options.upgradeAfterMs,
    },
  );
}

async function apiPublish(channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
}

type Seen = { n: number[]; offsets: number[]; transports: string[]; tried: string[]; subscribed: number };

/** Subscribes the page's client to `channel`, recording publications and transports in `window.seen`. */
async function follow(page: Page, channel: string): Promise<() => Promise<Seen>> {
  await page.evaluate((ch) => {
    type Sub = {
      on(e: 'publication', fn: (p: { offset?: number; data: { n: number } }) => void): void;
      on(e: 'state', fn: (p: { state: string }) => void): void;
    };
    const w = window as unknown as Record<string, unknown> & {
      client: {
        connect(): void;
        subscribe(ch: string): Sub;
        on(e: string, fn: (e: { state: string; transport: string }) => void): void;
      };
    };
    const seen = {
      n: [] as number[],
      offsets: [] as number[],
      transports: [] as string[],
      tried: [] as string[],
      subscribed: 0,
    };
    w.seen = seen;
    w.client.on('state', (e) => {
      if (e.state === 'connected') seen.transports.push(e.transport);
      if (e.state === 'connecting') seen.tried.push(e.transport);
    });
    const sub = w.client.subscribe(ch);
    sub.on('publication', (p) => {
      seen.n.push(p.data.n);
      seen.offsets.push(p.offset ?? -1);
    });
    sub.on('state', (e) => {
      if (e.state === 'subscribed') seen.subscribed++;
    });
    w.client.connect();
  }, channel);
  return () => page.evaluate(() => (window as unknown as { seen: Seen }).seen);
}

describe('@tidings/client in Chromium', () => {
  it('goes offline while publications continue; back online, every missed one arrives once, in order', async () => {
    const context = await browser.newContext();
    const channel = `br:away-${Math.random().toString(36).slice(2, 8)}`;
    const page = await sdkPage(context);
    await startClient(page, 'away');
    const seen = await follow(page, channel);
    await until(async () => (await seen()).subscribed === 1, 'subscribed');
    for (let n = 0; n < 10; n++) await apiPublish(channel, { n });
    await until(async () => (await seen()).n.length === 10, 'first 10');
    // Chromium's network emulation goes offline; the open socket drops with the network.
    await context.setOffline(true);
    await page.evaluate(() => (window as unknown as { sockets: WebSocket[] }).sockets.at(-1)?.close());
    for (let n = 10; n < 40; n++) await apiPublish(channel, { n });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await seen()).n).toHaveLength(10);
    await context.setOffline(false);
    await until(async () => (await seen()).n.length >= 40, 'the 30 missed ones');
    await new Promise((r) => setTimeout(r, 500));
    const s = await seen();
    expect(s.n).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(s.offsets).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await context.close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('the NDJSON fetch stream receives in order and publishes, in the browser', async () => {
    const context = await browser.newContext();
    const channel = `br:stream-${Math.random().toString(36).slice(2, 8)}`;
    const page = await sdkPage(context);
    await startClient(page, 'streamer', { fetchStreamOnly: true });
    const seen = await follow(page, channel);
    await until(async () => (await seen()).subscribed === 1, 'subscribed');
    for (let n = 0; n < 10; n++) await apiPublish(channel, { n });
    await page.evaluate(
      (ch) =>
        (window as unknown as { client: { publish(c: string, d: unknown): Promise<void> } }).client.publish(ch, {
          n: 10,
        }),
      channel,
    );
    await until(async () => (await seen()).n.length === 11, '11 over the fetch stream');
    const s = await seen();
    expect(s.transports).toEqual(['http-stream']);
    expect(s.n).toEqual(Array.from({ length: 11 }, (_, i) => i));
    await context.close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('WebSocket and SSE refused by the server: falls back to polling and still receives, in order', async () => {
    const context = await browser.newContext();
    const channel = `br:refused-${Math.random().toString(36).slice(2, 8)}`;
    const page = await sdkPage(context);
    await startClient(page, 'refused', { refuseStreams: true });
    const seen = await follow(page, channel);
    await until(async () => (await seen()).subscribed === 1, 'subscribed');
    for (let n = 0; n < 15; n++) await apiPublish(channel, { n });
    await until(async () => (await seen()).n.length === 15, '15 over polling');
    const s = await seen();
    expect(s.tried.slice(0, 3)).toEqual(['websocket-json', 'sse', 'poll']);
    expect(s.transports).toEqual(['poll']);
    expect(s.n).toEqual(Array.from({ length: 15 }, (_, i) => i));
    await context.close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('publishes made offline survive a reload in IndexedDB and are delivered exactly once back online', async () => {
    const context = await browser.newContext();
    const channel = `br:offline-${Math.random().toString(36).slice(2, 8)}`;
    const page = await sdkPage(context);
    await context.setOffline(true);
    await startClient(page, 'offline-writer', { outbox: true });
    await page.evaluate((ch) => {
      const c = (window as unknown as { client: { connect(): void; publish(ch: string, d: unknown): Promise<void> } })
        .client;
      c.connect();
      for (let n = 0; n < 5; n++) void c.publish(ch, { n });
    }, channel);
    // Offline: the connection keeps failing, the publishes wait in IndexedDB.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await page.evaluate(() => (window as unknown as { client: { state: string } }).client.state)).not.toBe(
      'connected',
    );
    const queued = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const req = indexedDB.open('tidings-outbox', 1);
          req.onsuccess = () => {
            const all = req.result.transaction('entries').objectStore('entries').count();
            all.onsuccess = () => resolve(all.result);
          };
        }),
    );
    expect(queued).toBe(5);
    expect(await history(channel)).toEqual([]);
    // Reload the page (still offline): the publishes are only in IndexedDB now.
    await page.reload();
    await page.addScriptTag({ content: bundle });
    await startClient(page, 'offline-writer', { outbox: true });
    await page.evaluate(() => (window as unknown as { client: { connect(): void } }).client.connect());
    await context.setOffline(false);
    await until(async () => (await history(channel)).length >= 5, 'queued publishes delivered');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await history(channel)).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })));
    await until(
      () =>
        page.evaluate(
          () =>
            new Promise<boolean>((resolve) => {
              const req = indexedDB.open('tidings-outbox', 1);
              req.onsuccess = () => {
                const all = req.result.transaction('entries').objectStore('entries').count();
                all.onsuccess = () => resolve(all.result === 0);
              };
            }),
        ),
      'outbox emptied',
    );
    await context.close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('switches WebSocket → SSE when upgrades start being refused mid-stream, in order, nothing lost or duplicated', async () => {
    const context = await browser.newContext();
    const channel = `br:switch-${Math.random().toString(36).slice(2, 8)}`;
    const page = await sdkPage(context);
    await startClient(page, 'switcher');
    await page.evaluate((ch) => {
      type Sub = { on(e: string, fn: (p: { offset?: number; data: { n: number } }) => void): void };
      const w = window as unknown as Record<string, unknown> & {
        client: {
          connect(): void;
          subscribe(ch: string): Sub;
          on(e: string, fn: (e: { state: string; transport: string }) => void): void;
        };
      };
      const seen = { n: [] as number[], offsets: [] as number[], transports: [] as string[] };
      w.seen = seen;
      w.client.on('state', (e) => e.state === 'connected' && seen.transports.push(e.transport));
      w.client.subscribe(ch).on('publication', (p) => {
        seen.n.push(p.data.n);
        seen.offsets.push(p.offset ?? -1);
      });
      w.client.connect();
    }, channel);
    type Seen = { n: number[]; offsets: number[]; transports: string[] };
    const seen = () => page.evaluate(() => (window as unknown as { seen: Seen }).seen);
    await until(async () => (await seen()).transports.length === 1, 'connected');
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const res = await fetch(`${base}/api/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
          body: JSON.stringify({ channel, data: { n: n++ } }),
        });
        expect(res.status).toBe(200);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(async () => (await seen()).n.length >= 20, 'flowing over WebSocket');
    await page.evaluate(() => {
      const w = window as unknown as { blockUpgrades: boolean; sockets: WebSocket[] };
      w.blockUpgrades = true;
      w.sockets.at(-1)?.close();
    });
    await until(async () => (await seen()).transports.at(-1) === 'sse', 'on SSE');
    const onSse = (await seen()).n.length;
    await until(async () => (await seen()).n.length >= onSse + 30, 'flowing over SSE');
    publishing = false;
    await publisher;
    await until(async () => (await seen()).n.length === n, 'every publication');
    const s = await seen();
    expect(s.transports).toEqual(['websocket-json', 'sse']);
    expect(s.n).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(s.offsets).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await context.close();
    expect(errors).toEqual([]);
  }, 90_000);
});
