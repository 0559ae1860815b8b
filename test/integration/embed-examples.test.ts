// The four embedding examples (examples/embed-*) run for real: the app's own routes and Tidings'
// WebSocket, SSE and server API share one server and one port. A centrifuge SDK client over the
// WebSocket and an SSE reader both get what the app's own POST /news route publishes.
import { Centrifuge } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

interface ExampleApp {
  readonly url: string;
  close(): Promise<void>;
}
type Start = (options: { port: number }) => Promise<ExampleApp>;

const examples: Array<[string, string]> = [
  ['node:http', '../../examples/embed-http/server.mjs'],
  ['express', '../../examples/embed-express/server.mjs'],
  ['fastify', '../../examples/embed-fastify/server.mjs'],
  ['hono', '../../examples/embed-hono/server.mjs'],
];

/** Reads an SSE response until `text` appears (or the deadline passes). */
async function readUntil(res: Response, text: string, ms = 8000): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  const deadline = Date.now() + ms;
  try {
    while (!seen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`SSE stream never carried ${text}: ${seen}`);
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel();
  }
  return seen;
}

describe.each(examples)('embedding example (%s)', (name, path) => {
  let app: ExampleApp;
  let sdk: Centrifuge | undefined;

  beforeAll(async () => {
    const { start } = (await import(path)) as { start: Start };
    app = await start({ port: 0 });
  });
  afterAll(async () => {
    sdk?.disconnect();
    await app?.close();
  });

  it("serves the app's own routes and Tidings' paths on one port", async () => {
    const home = await fetch(`${app.url}/`);
    expect(await home.json()).toEqual({ app: name });
    // Not a Tidings path: the framework answers it, Tidings stays out of the way.
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
    const api = await fetch(`${app.url}/api/info`, {
      method: 'POST',
      headers: { 'x-api-key': 'example-api-key-0123456789', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(api.status).toBe(200);
  });

  it('delivers what the app publishes to a WebSocket SDK client and an SSE reader', async () => {
    sdk = new Centrifuge(`${app.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket });
    const sub = sdk.newSubscription('news:main');
    const subscribed = new Promise((resolve) => sub.once('subscribed', resolve));
    const got = new Promise<{ data: unknown }>((resolve) => sub.once('publication', resolve));
    sub.subscribe();
    sdk.connect();
    await subscribed;
    const sse = await fetch(`${app.url}/connection/sse?channel=news:main`);
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reading = readUntil(sse, `from ${name}`);
    // Let the SSE session subscribe before publishing: poll until the node counts two subscribers.
    const deadline = Date.now() + 8000;
    for (;;) {
      const info = await fetch(`${app.url}/api/channels`, {
        method: 'POST',
        headers: { 'x-api-key': 'example-api-key-0123456789', 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await info.json()) as { result: { channels: Record<string, { num_clients: number }> } };
      if ((body.result.channels['news:main']?.num_clients ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error('SSE subscriber never appeared');
      await new Promise((r) => setTimeout(r, 20));
    }
    const published = await fetch(`${app.url}/news`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: `from ${name}` }),
    });
    expect(published.status).toBe(200);
    expect((await got).data).toEqual({ text: `from ${name}` });
    expect(await reading).toContain(`"text":"from ${name}"`);
  });
});
