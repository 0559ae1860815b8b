// An SSE client that never reads: the server ends its stream with 3008 (slow consumer) once the
// bounded queue fills, and server memory stays bounded while publishing continues.
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { apiKey, secret, token } from './one-way-server.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        client: { maxQueueBytes: 256 * 1024 },
        channels: { namespaces: { feed: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
});
afterAll(async () => {
  await server.close();
});

it('an SSE client that never reads is ended with 3008 while server memory stays bounded', async () => {
  const socket: Socket = netConnect(server.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `GET /connection/sse?channel=feed:firehose HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await token('slow')}\r\n\r\n`,
  );
  const head = await new Promise<Buffer>((r) => socket.once('data', r));
  expect(head.toString()).toMatch(/^HTTP\/1\.1 200/);
  socket.pause();
  expect(server.node.info().numClients).toBe(1);
  const rssBefore = process.memoryUsage().rss;
  const payload = { blob: 'y'.repeat(8_000) };
  let closedBySlow = false;
  for (let i = 0; i < 2_000 && !closedBySlow; i++) {
    const res = await fetch(`${server.url}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'feed:firehose', data: payload }),
    });
    expect(res.status).toBe(200);
    if (i % 50 === 49) closedBySlow = server.node.info().numClients === 0;
  }
  expect(closedBySlow).toBe(true);
  // 2,000 × 8 KB would be 16 MB queued; the bound is 256 KiB plus kernel buffers.
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  socket.resume();
  const tail = await new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', () => resolve(Buffer.concat(chunks).toString()));
    setTimeout(() => socket.destroy(), 4000);
  });
  expect(tail).toContain('event: end\ndata: {"type":"end","code":3008,');
});
