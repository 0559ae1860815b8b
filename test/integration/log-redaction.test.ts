// A debug-level run whose traffic carries every kind of secret (API key header, connection token
// in a query string and in a WebSocket connect, a rejected token, the metrics bearer token, the
// JWT secret in the config): the captured JSON log must contain none of them, and must carry
// request and connection ids.
import { PassThrough } from 'node:stream';
import { signToken } from '@tidings/server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { createLogger } from '../../apps/tidings/src/logger.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';

const secret = 'redaction-jwt-secret-0123456789abcdef';
const apiKey = 'redaction-api-key-0123456789';
const metricsToken = 'redaction-metrics-token-0123456789';
let server: RunningServer;
let output = '';

beforeAll(async () => {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0 },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      metrics: { enabled: true, token: metricsToken },
      channels: { namespaces: { chat: { allowSubscribeForClient: true } } },
      log: { level: 'debug', pretty: false },
    },
  });
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  server = await startServer(config, { logger: createLogger(config.log, stream, false) });
});
afterAll(async () => {
  await server.close();
});

it('logs requests and connections with ids and never a secret', async () => {
  const token = await signToken({ sub: 'alice' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
  const forged = await signToken({ sub: 'mallory' }, { alg: 'HS256', secret: 'x'.repeat(40) }, { expiresInSec: 600 });
  const publish = await fetch(`${server.url}/api/publish`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json', 'X-Request-Id': 'req-test-1' },
    body: JSON.stringify({ channel: 'chat:a', data: { hi: 1 } }),
  });
  expect(publish.status).toBe(200);
  expect(publish.headers.get('x-request-id')).toBe('req-test-1');
  await fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'X-API-Key': 'wrong-key-0123456789' } });
  expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(
    200,
  );
  const sse = await fetch(`${server.url}/connection/sse?channel=chat:a&token=${token}`);
  await sse.body?.cancel();
  for (const t of [token, forged]) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/websocket`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ id: 1, connect: { token: t } }));
    await new Promise((r) => setTimeout(r, 200));
    ws.close();
  }
  const deadline = Date.now() + 10_000;
  while (!output.includes('client disconnected') || !output.includes('/connection/sse')) {
    if (Date.now() > deadline) throw new Error(`log so far:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const s of [secret, apiKey, metricsToken, token, forged, 'wrong-key-0123456789']) {
    expect(output).not.toContain(s);
  }
  const lines = output
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.find((l) => l.msg === 'http request' && l.reqId === 'req-test-1')).toMatchObject({
    method: 'POST',
    path: '/api/publish',
    status: 200,
  });
  expect(lines.find((l) => l.msg === 'http request' && l.path === '/connection/sse')?.reqId).toMatch(/^[0-9a-f-]{36}$/);
  const connected = lines.filter((l) => l.msg === 'client connected');
  expect(connected.map((l) => l.transport).sort()).toEqual(['sse', 'websocket']);
  for (const l of connected) expect(l.client).toMatch(/^[0-9a-f-]{36}$/);
  expect(lines.find((l) => l.msg === 'client disconnected')).toMatchObject({ code: 3500 });
});
