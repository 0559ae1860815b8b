// Tidings inside an Express 5 app: `app.use(tidings.middleware)` before the body parser, and the
// WebSocket upgrade on the same http.Server. Run: node examples/embed-express/server.mjs
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';
import express from 'express';

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

  const app = express();
  // First: Tidings reads its own request bodies, so no parser may consume them before it.
  app.use(tidings.middleware);
  app.use(express.json());
  app.get('/', (_req, res) => res.json({ app: 'express' }));
  app.post('/news', async (req, res) => {
    res.json(await node.publish('news:main', Buffer.from(JSON.stringify({ text: req.body.text }))));
  });

  const server = createServer(app);
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
  console.log(`Express app with Tidings on ${app.url}`);
}
