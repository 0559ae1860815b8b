// A live stock ticker on @tidings/client: the app moves a few prices (a random walk) and publishes
// each change once; every browser tab follows them with the SDK — WebSocket first, then SSE, then
// polling if the network refuses the ones before — and keeps its place in each channel across
// reconnects and transport switches. The namespace is public and read-only, so no token.
// Run: npm run build && node examples/live-ticker/server.mjs   then open http://127.0.0.1:3000/
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';
import { build } from 'esbuild';

const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
export const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG'];

/** The SDK as one browser module (an app would use its own bundler). */
async function sdkBundle() {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('../../packages/client/dist/index.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** Starts the ticker; resolves once it listens. `intervalMs` is how often a price moves. */
export async function start({ port = Number(process.env.PORT ?? 3000), host = '127.0.0.1', intervalMs = 250 } = {}) {
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: {
      namespaces: {
        prices: { allowSubscribeForAnonymous: true, historySize: 100, historyTtlMs: 600_000, allowRecovery: true },
      },
    },
  });
  await node.start();
  const tidings = createTidingsHandlers(node);
  const sdk = await sdkBundle();
  const prices = Object.fromEntries(symbols.map((s, i) => [s, 100 + i * 50]));
  const timer = setInterval(() => {
    const symbol = symbols[Math.floor(Math.random() * symbols.length)];
    const previous = prices[symbol];
    prices[symbol] = Math.max(1, Math.round(previous * (1 + (Math.random() - 0.5) / 50) * 100) / 100);
    const tick = {
      symbol,
      price: prices[symbol],
      change: Math.round((prices[symbol] - previous) * 100) / 100,
      at: Date.now(),
    };
    node.publish(`prices:${symbol}`, Buffer.from(JSON.stringify(tick))).catch(() => {});
  }, intervalMs);

  const server = createServer((req, res) => {
    if (tidings.handleRequest(req, res)) return;
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    if (req.url === '/tidings-client.js') {
      return void res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(sdk);
    }
    res.writeHead(404).end();
  });
  tidings.attach(server);
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${server.address().port}`,
    node,
    async close() {
      clearInterval(timer);
      await tidings.close();
      await node.shutdown();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start();
  console.log(`live ticker on ${app.url}/`);
}
