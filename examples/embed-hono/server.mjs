// Tidings beside a Hono app on node:http: Hono's request listener (@hono/node-server) takes every
// request Tidings does not claim; the WebSocket upgrade goes to the same server.
// Run: node examples/embed-hono/server.mjs
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';
import { Hono } from 'hono';

/** Starts the app; resolves once it listens. */
export async function start({ port = Number(process.env.PORT ?? 3000), host = '127.0.0.1' } = {}) {
  const node = createNode({
    ...createMemoryEngine(),
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { news: { allowSubscribeForAnonymous: true, historySize: 50, historyTtlMs: 600_000 } } },
  });
  await node.start();
  const tidings = createTidingsHandlers(node, {
    api: { apiKeys: [process.env.API_KEY ?? 'example-api-key-0123456789'] },
  });

  const app = new Hono();
  app.get('/', (c) => c.json({ app: 'hono' }));
  app.post('/news', async (c) => {
    const { text } = await c.req.json();
    return c.json(await node.publish('news:main', Buffer.from(JSON.stringify({ text }))));
  });

  const honoListener = getRequestListener(app.fetch);
  const server = createServer((req, res) => {
    if (!tidings.handleRequest(req, res)) honoListener(req, res);
  });
  tidings.attach(server);
  await new Promise((resolve) => server.listen(port, host, resolve));
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    node,
    async close() {
      await tidings.close();
      await node.shutdown();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start();
  console.log(`Hono app with Tidings on ${app.url}`);
}
