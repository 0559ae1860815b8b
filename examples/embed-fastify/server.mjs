// Tidings inside a Fastify 5 app: Fastify's `serverFactory` builds the http.Server, Tidings
// answers its own paths first and hands every other request to Fastify; the WebSocket upgrade
// goes to the same server. Run: node examples/embed-fastify/server.mjs
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';
import Fastify from 'fastify';

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

  const fastify = Fastify({
    serverFactory: (fastifyHandler) => {
      const server = createServer((req, res) => {
        if (!tidings.handleRequest(req, res)) fastifyHandler(req, res);
      });
      tidings.attach(server);
      return server;
    },
  });
  fastify.get('/', async () => ({ app: 'fastify' }));
  fastify.post('/news', async (request) =>
    node.publish('news:main', Buffer.from(JSON.stringify({ text: request.body.text }))),
  );
  await fastify.listen({ port, host });
  const url = `http://${host}:${fastify.server.address().port}`;
  return {
    url,
    node,
    async close() {
      await tidings.close();
      await node.shutdown();
      fastify.server.closeAllConnections();
      await fastify.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await start();
  console.log(`Fastify app with Tidings on ${app.url}`);
}
