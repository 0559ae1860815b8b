// The bench's centrifuge-ws adapter against a real in-process Tidings: a subscription the server
// ends on its own (server API unsubscribe, disconnect) is reported as `dropped`, so a bench run
// can never show such a subscriber as silently missing deliveries; closing it ourselves is not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCentrifugeWsAdapter } from '../../apps/tidings/src/bench/clients/centrifuge-ws.js';
import type { DeliverySink } from '../../apps/tidings/src/bench/clients/types.js';
import { startTestServer, type TestServer } from './in-process-server.js';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer('bench-dropped', 'bench');
});
afterAll(async () => {
  await test.close();
});

async function open(user: string, channel: string) {
  const rec = { deliveries: 0, dropped: 0, protocolErrors: 0, settled: [] as boolean[], closed: 0 };
  const sink: DeliverySink = {
    delivery: () => rec.deliveries++,
    protocolError: () => rec.protocolErrors++,
    dropped: () => rec.dropped++,
  };
  const adapter = createCentrifugeWsAdapter({ url: test.wsUrl, codec: 'json', token: await test.token(user) }, sink);
  const subscriber = adapter.open(channel, '127.0.0.4', {
    settle: (ok) => rec.settled.push(ok),
    closed: () => rec.closed++,
  });
  await until(() => rec.settled.length > 0);
  expect(rec.settled).toEqual([true]);
  return { rec, subscriber };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

async function api(method: string, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${test.server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': test.apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

describe('centrifuge-ws adapter: subscriptions the server ends', () => {
  it('counts a server-side unsubscribe as dropped', async () => {
    const { rec, subscriber } = await open('u-unsub', 'bench:dropped-1');
    await api('unsubscribe', { user: 'u-unsub', channel: 'bench:dropped-1' });
    await until(() => rec.dropped === 1);
    subscriber.close();
    await until(() => rec.closed === 1);
    expect(rec.dropped).toBe(1);
    expect(rec.protocolErrors).toBe(0);
  });

  it('counts a server disconnect as dropped, once', async () => {
    const { rec } = await open('u-disc', 'bench:dropped-2');
    await api('disconnect', { user: 'u-disc' });
    await until(() => rec.closed === 1);
    expect(rec.dropped).toBe(1);
  });

  it('does not count our own close, nor publications', async () => {
    const { rec, subscriber } = await open('u-own', 'bench:dropped-3');
    await api('publish', { channel: 'bench:dropped-3', data: { t: 1 } });
    await until(() => rec.deliveries === 1);
    subscriber.close();
    await until(() => rec.closed === 1);
    expect(rec.dropped).toBe(0);
  });
});
