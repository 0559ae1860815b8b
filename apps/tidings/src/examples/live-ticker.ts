import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger, TidingsNode } from '@tidings/server';

/** Where the development profile serves examples/live-ticker. */
export const liveTickerPath = '/examples/live-ticker/';
/** The symbols the demo feed moves; each is the channel `prices:<symbol>`. */
export const tickerSymbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG'] as const;

// In the repository: apps/tidings/{src,dist}/examples → the repo root is four levels up.
const repoFile = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

/**
 * The development profile's live-ticker example: `GET /examples/live-ticker/` is
 * examples/live-ticker/page.html, and `…/tidings-client.js` the browser bundle of
 * `@tidings/client` that `npm run build` writes (packages/client/dist/browser). Returns undefined,
 * logging why, when either file is missing (an installed package without the examples).
 */
export function liveTickerRoute(logger: Logger): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  const pageFile = repoFile('examples/live-ticker/page.html');
  const sdkFile = repoFile('packages/client/dist/browser/tidings-client.js');
  if (!existsSync(pageFile) || !existsSync(sdkFile)) {
    logger.warn({ pageFile, sdkFile }, 'live-ticker example not found (run npm run build in the repository)');
    return undefined;
  }
  const page = readFileSync(pageFile);
  const sdk = readFileSync(sdkFile);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === liveTickerPath.slice(0, -1)) {
      res.writeHead(308, { location: liveTickerPath }).end();
      return true;
    }
    const body = path === liveTickerPath ? page : path === `${liveTickerPath}tidings-client.js` ? sdk : undefined;
    if (body === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const type = path === liveTickerPath ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

/**
 * The demo feed of the development profile: every `intervalMs` one of `tickerSymbols` moves by a
 * random walk and is published once into `prices:<symbol>` (through the node, as a backend would
 * through the API). Stop it with the returned function.
 */
export function startTickerFeed(node: TidingsNode, logger: Logger, intervalMs = 250): () => void {
  const prices = new Map<string, number>(tickerSymbols.map((s, i) => [s, 100 + i * 50]));
  const timer = setInterval(() => {
    const symbol = tickerSymbols[Math.floor(Math.random() * tickerSymbols.length)] as string;
    const previous = prices.get(symbol) as number;
    const price = Math.max(1, Math.round(previous * (1 + (Math.random() - 0.5) / 50) * 100) / 100);
    prices.set(symbol, price);
    const tick = { symbol, price, change: Math.round((price - previous) * 100) / 100, at: Date.now() };
    node
      .publish(`prices:${symbol}`, Buffer.from(JSON.stringify(tick)))
      .catch((err: unknown) => logger.debug({ err }, 'ticker feed: publish failed'));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
