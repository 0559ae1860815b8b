// Tidings inside a plain node:http server: one server, one port. The app answers its own routes
// (GET /, POST /news publishes), Tidings answers /connection/* and /api/* on the same port.
// Run: node examples/embed-http/server.mjs   (PORT=3000 by default)
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';

/** Starts the app; resolves once it listens. */
export async function start({ port = Number(process.env.PORT ?? 3000), host = '127.0.0.1' } = {}) {
  const node = createNode({
    ...createMemoryEngine(),
    // Anyone may read the news; a real app would pass JWT keys or an onConnecting hook.
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { news: { allowSubscribeForAnonymous: true, historySize: 50, historyTtlMs: 600_000 } } },
  });
  await node.start();
  const tidings = createTidingsHandlers(node, {
    api: { apiKeys: [process.env.API_KEY ?? 'example-api-key-0123456789'] },
  });

  const server = createServer((req, res) => {
    if (tidings.handleRequest(req, res)) return;
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ app: 'node:http' }));
      return;
    }
    if (req.method === 'POST' && req.url === '/news') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        const result = await node.publish('news:main', Buffer.from(JSON.stringify({ text })));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      });
      return;
    }
    res.writeHead(404).end();
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
  console.log(`node:http app with Tidings on ${app.url} (curl -N '${app.url}/connection/sse?channel=news:main')`);
}
