// WebSocket-layer close codes of docs/errors.md, over a real socket with a raw `ws` client:
// invalid UTF-8 in a text frame closes with 1007 (it was missing from the docs, issue 15), and the
// node stays ready.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        client: { allowAnonymous: true },
        api: { keys: ['close-codes-api-key-0123456789'] },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server.close();
});

function closeCodeAfter(send: (ws: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    ws.on('open', () => send(ws));
    ws.on('close', (code) => resolve(code));
    ws.on('error', () => {});
    setTimeout(() => reject(new Error('no close within 20 s')), 20_000).unref();
  });
}

describe('WebSocket-layer close codes', () => {
  it('a text frame with invalid UTF-8 closes with 1007 and the node stays ready', async () => {
    // 0xC3 0x28 is an invalid two-byte sequence; ws sends the bytes as they are in a text frame.
    const code = await closeCodeAfter((ws) => ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false }));
    expect(code).toBe(1007);
    const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(ready.status).toBe(200);
  }, 30_000);
});
