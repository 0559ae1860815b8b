// A live dashboard: the app samples its own numbers (event-loop delay, memory, a simulated order
// rate) twice a second and publishes them once; every open browser tab gets them over
// Server-Sent Events with a plain `EventSource`, no SDK and no token (the namespace is public,
// read-only). History lets a tab that reconnects (Last-Event-ID) catch up on what it missed.
// Run: node examples/live-dashboard/server.mjs   then open http://127.0.0.1:3000/
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';

const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

/** Starts the dashboard; resolves once it listens. `intervalMs` is the sampling period. */
export async function start({ port = Number(process.env.PORT ?? 3000), host = '127.0.0.1', intervalMs = 500 } = {}) {
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: {
      namespaces: { metrics: { allowSubscribeForAnonymous: true, historySize: 120, historyTtlMs: 600_000 } },
    },
  });
  await node.start();
  const tidings = createTidingsHandlers(node);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let orders = 40;
  const timer = setInterval(() => {
    // A random walk stands in for the business number a real app would count.
    orders = Math.max(0, orders + Math.round((Math.random() - 0.5) * 10));
    const sample = {
      at: Date.now(),
      ordersPerSec: orders,
      loopDelayMs: Math.round(delay.mean / 1e4) / 100,
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
      clients: node.info().numClients,
    };
    delay.reset();
    node.publish('metrics:live', Buffer.from(JSON.stringify(sample))).catch(() => {});
  }, intervalMs);

  const server = createServer((req, res) => {
    if (tidings.handleRequest(req, res)) return;
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    res.writeHead(404).end();
  });
  tidings.attach(server);
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${server.address().port}`,
    node,
    async close() {
      clearInterval(timer);
      delay.disable();
      await tidings.close();
      await node.shutdown();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start();
  console.log(`live dashboard on ${app.url}/ (or: curl -N '${app.url}/connection/sse?channel=metrics:live')`);
}
