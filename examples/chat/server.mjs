// A chat room: an app that embeds Tidings and stays in charge through the library hooks.
// `/login?name=ada` sets an HttpOnly session cookie; the connect hook reads it (no token in the
// page), the publish hook trims, refuses empty or long messages and stamps the sender, and the
// room keeps history so a reconnecting browser gets what it missed.
// Run: node examples/chat/server.mjs   then open http://127.0.0.1:3000/login?name=ada
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientError, ErrorCode } from '@tidings/protocol';
import { createJwtAuthenticator, createMemoryEngine, createNode, createTidingsHandlers } from '@tidings/server';

const sdk = join(dirname(dirname(createRequire(import.meta.url).resolve('centrifuge'))), 'dist/centrifuge.js');
const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
const maxLength = 500;

function cookie(header, name) {
  for (const part of (header ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name) return v;
  }
  return undefined;
}

/** Starts the chat; resolves once it listens. */
export async function start({ port = Number(process.env.PORT ?? 3000), host = '127.0.0.1' } = {}) {
  /** The app's own session store: session id → user name. */
  const sessions = new Map();
  const node = createNode({
    ...createMemoryEngine(),
    // No JWT keys: the connect hook is the only way in.
    authenticator: createJwtAuthenticator({ keys: [] }),
    channels: {
      namespaces: {
        chat: {
          allowSubscribeForClient: true,
          allowPublishForSubscriber: true,
          historySize: 100,
          historyTtlMs: 3_600_000,
          forceRecovery: true,
          presence: true,
          allowPresenceForSubscriber: true,
        },
      },
    },
    hooks: {
      onConnecting(ctx) {
        const name = sessions.get(cookie(ctx.requestHeaders.cookie, 'chat_session'));
        if (name === undefined) throw clientError(ErrorCode.Unauthorized, 'log in first: /login?name=you');
        return { user: name, info: Buffer.from(JSON.stringify({ name })) };
      },
      onPublish(ctx) {
        const { text } = JSON.parse(Buffer.from(ctx.data).toString('utf8'));
        const clean = String(text ?? '').trim();
        if (clean === '' || clean.length > maxLength) throw clientError(ErrorCode.BadRequest, 'empty or too long');
        return { data: Buffer.from(JSON.stringify({ from: ctx.user, text: clean, at: Date.now() })) };
      },
    },
  });
  await node.start();
  const tidings = createTidingsHandlers(node);

  const server = createServer((req, res) => {
    if (tidings.handleRequest(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://chat');
    if (url.pathname === '/login') {
      const name = (url.searchParams.get('name') ?? '').replace(/[^\w-]/g, '').slice(0, 32);
      if (name === '') return void res.writeHead(400).end('name required');
      const sid = randomUUID();
      sessions.set(sid, name);
      res.writeHead(302, { 'set-cookie': `chat_session=${sid}; HttpOnly; Path=/; SameSite=Lax`, location: '/' });
      return void res.end();
    }
    if (url.pathname === '/centrifuge.js') {
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(sdk));
    }
    if (url.pathname === '/') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    res.writeHead(404).end();
  });
  tidings.attach(server);
  await new Promise((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${server.address().port}`,
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
  console.log(`chat on ${app.url} — open ${app.url}/login?name=ada in one browser and ?name=bob in another`);
}
