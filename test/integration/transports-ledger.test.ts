// One channel consumed at once over every transport (WebSocket JSON and Protobuf through the
// centrifuge SDK, SSE, NDJSON, long-poll) while the server API publishes: the ledger checks each
// saw the identical (offset, payload) sequence. Then resume across transports: WebSocket →
// SSE (Last-Event-ID) → long-poll (cursor), and the explicit discontinuity of a bad cursor.
import { encodeCursor, type StreamPosition } from '@tidings/protocol';
import { createLedger, formatLedgerReport, type Ledger } from '@tidings/testkit';
import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../apps/tidings/src/serve.js';
import { StreamClient } from './one-way-client.js';
import { publishAcked, startOneWayServer, token } from './one-way-server.js';

interface PollBody {
  publications: Array<{ channel: string; offset: number; epoch: string; data: { id: string } }>;
  cursor: string;
  discontinuities?: Array<{ channel: string; epoch: string; offset: number; reason: string }>;
  nextPollMs: number;
}

let server: RunningServer;
let base: string;
beforeAll(async () => {
  server = await startOneWayServer();
  base = server.url;
});
afterAll(async () => {
  await server.close();
});

const decoder = new TextDecoder();
const idOf = (data: unknown): string =>
  (data instanceof Uint8Array ? (JSON.parse(decoder.decode(data)) as { id: string }) : (data as { id: string })).id;

async function sdkSubscriber(Sdk: typeof Centrifuge, name: string, channel: string, ledger: Ledger) {
  const client = new Sdk(`ws://127.0.0.1:${server.port}/connection/websocket`, {
    websocket: WebSocket,
    token: await token(name),
  });
  const sub = client.newSubscription(channel, { recoverable: true });
  let epoch = '';
  let last: StreamPosition | undefined;
  sub.on('subscribed', (ctx) => {
    epoch = ctx.streamPosition?.epoch ?? epoch;
    last ??= { epoch, offset: ctx.streamPosition?.offset ?? 0 };
  });
  sub.on('publication', (ctx) => {
    ledger.received(name, channel, { offset: ctx.offset ?? -1, epoch, id: idOf(ctx.data) });
    last = { epoch, offset: ctx.offset ?? -1 };
  });
  client.connect();
  sub.subscribe();
  await sub.ready(5000);
  return { client, position: () => last };
}

function streamSubscriber(stream: StreamClient, name: string, channel: string, ledger: Ledger) {
  let cursor = '';
  const take = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const e = await stream.next((x) => x.data.type === 'publication' || x.data.type === 'discontinuity');
      const d = e.data as { type: string; offset: number; epoch: string; data: { id: string }; reason?: string };
      if (d.type === 'discontinuity') ledger.discontinuity(name, channel, { epoch: d.epoch, reason: d.reason ?? '' });
      else ledger.received(name, channel, { offset: d.offset, epoch: d.epoch, id: d.data.id });
      cursor = e.id ?? cursor;
    }
    return cursor;
  };
  return { take };
}

async function pollOnce(query: string, headers: Record<string, string> = {}): Promise<PollBody> {
  const res = await fetch(`${base}/connection/poll?${query}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as PollBody;
}

/** Long-polls from `cursor` until `n` publications arrived (or a discontinuity); returns the last cursor. */
async function pollUntil(name: string, channel: string, ledger: Ledger, cursor: string, n: number, auth = {}) {
  let got = 0;
  let discontinuities = 0;
  while (got < n) {
    const body = await pollOnce(`channel=${channel}&wait=2000&limit=7&cursor=${cursor}`, auth);
    for (const d of body.discontinuities ?? []) {
      discontinuities++;
      ledger.discontinuity(name, channel, { epoch: d.epoch, reason: d.reason });
    }
    for (const p of body.publications)
      ledger.received(name, channel, { offset: p.offset, epoch: p.epoch, id: p.data.id });
    got += body.publications.length;
    cursor = body.cursor;
    if (discontinuities > 0 && body.publications.length === 0) break;
  }
  return { cursor, discontinuities };
}

function expectClean(ledger: Ledger): void {
  const report = ledger.check({ expectAll: true });
  const text = formatLedgerReport(report);
  expect(report.lost, text).toBe(0);
  expect(report.duplicated, text).toBe(0);
  expect(report.reordered, text).toBe(0);
  expect(report.silentGaps, text).toBe(0);
  expect(report.offsetForks, text).toBe(0);
}

describe('every transport on one channel', () => {
  it('WebSocket JSON and Protobuf, SSE, NDJSON and long-poll see the identical (offset, payload) sequence', async () => {
    const channel = 'chat:ledger';
    const n = 120;
    const ledger = createLedger();
    const names = ['ws-json', 'ws-protobuf', 'sse', 'ndjson', 'poll'];
    for (const name of names) ledger.subscribed(name, channel);
    const auth = { authorization: `Bearer ${await token('reader')}` };

    const json = await sdkSubscriber(Centrifuge, 'ws-json', channel, ledger);
    const protobuf = await sdkSubscriber(
      CentrifugeProtobuf as unknown as typeof Centrifuge,
      'ws-protobuf',
      channel,
      ledger,
    );
    const sseStream = await StreamClient.open(`${base}/connection/sse?channel=${channel}`, 'sse', auth);
    const ndjsonStream = await StreamClient.open(`${base}/connection/stream?channel=${channel}`, 'ndjson', auth);
    const start = await pollOnce(`channel=${channel}&wait=0`, auth);
    await sseStream.next((e) => e.event === 'connected');
    await ndjsonStream.next((e) => e.data.type === 'connected');
    try {
      const polling = pollUntil('poll', channel, ledger, start.cursor, n, auth);
      // Two publishers interleaving, as several backends would.
      await Promise.all(
        [0, 1].map(async (p) => {
          for (let i = 0; i < n / 2; i++) await publishAcked(base, ledger, channel, `p${p}-${i}`);
        }),
      );
      await Promise.all([
        streamSubscriber(sseStream, 'sse', channel, ledger).take(n),
        streamSubscriber(ndjsonStream, 'ndjson', channel, ledger).take(n),
        polling,
      ]);
      const deadline = Date.now() + 5000;
      while ((json.position()?.offset ?? 0) < n || (protobuf.position()?.offset ?? 0) < n) {
        if (Date.now() > deadline) throw new Error('WebSocket subscribers did not receive everything');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      json.client.disconnect();
      protobuf.client.disconnect();
      sseStream.close();
      ndjsonStream.close();
    }
    expectClean(ledger);
    expect(ledger.check().acked).toBe(n);
  });
});

describe('resume across transports', () => {
  it('WebSocket, then SSE with Last-Event-ID, then long-poll with the cursor: 0 lost, 0 duplicated', async () => {
    const channel = 'chat:relay';
    const ledger = createLedger();
    ledger.subscribed('relay', channel);
    const auth = { authorization: `Bearer ${await token('relay')}` };

    const ws = await sdkSubscriber(Centrifuge, 'relay', channel, ledger);
    for (let i = 0; i < 10; i++) await publishAcked(base, ledger, channel, `ws-${i}`);
    const deadline = Date.now() + 5000;
    while ((ws.position()?.offset ?? 0) < 10) {
      if (Date.now() > deadline) throw new Error('WebSocket subscriber did not receive 10');
      await new Promise((r) => setTimeout(r, 20));
    }
    const wsAt = ws.position()!;
    ws.client.disconnect();

    for (let i = 0; i < 15; i++) await publishAcked(base, ledger, channel, `gap1-${i}`);
    const lastEventId = encodeCursor({ [channel]: wsAt });
    const sseStream = await StreamClient.open(`${base}/connection/sse?channel=${channel}`, 'sse', {
      ...auth,
      'last-event-id': lastEventId,
    });
    let sseCursor: string;
    try {
      sseCursor = await streamSubscriber(sseStream, 'relay', channel, ledger).take(15);
      for (let i = 0; i < 5; i++) await publishAcked(base, ledger, channel, `sse-live-${i}`);
      sseCursor = await streamSubscriber(sseStream, 'relay', channel, ledger).take(5);
      expect(sseStream.events.filter((e) => e.event === 'discontinuity')).toEqual([]);
    } finally {
      sseStream.close();
    }

    for (let i = 0; i < 20; i++) await publishAcked(base, ledger, channel, `gap2-${i}`);
    const polled = await pollUntil('relay', channel, ledger, sseCursor, 20, auth);
    expect(polled.discontinuities).toBe(0);
    expectClean(ledger);
    expect(ledger.check().acked).toBe(50);
  });

  it('an expired or foreign-epoch cursor yields an explicit discontinuity on SSE and on long-poll', async () => {
    const channel = 'brief:relay';
    const ledger = createLedger();
    const auth = { authorization: `Bearer ${await token('late')}` };
    for (let i = 0; i < 3; i++) await publishAcked(base, ledger, channel, `old-${i}`);
    // brief:* keeps history 1 s: wait it out, so offset 1 is gone.
    await new Promise((r) => setTimeout(r, 1_300));
    await publishAcked(base, ledger, channel, 'new-0');

    const foreign = encodeCursor({ [channel]: { epoch: 'not-this-one', offset: 1 } });
    const sseStream = await StreamClient.open(`${base}/connection/sse?channel=${channel}`, 'sse', {
      ...auth,
      'last-event-id': foreign,
    });
    try {
      const d = await sseStream.next((e) => e.event === 'discontinuity');
      expect(d.data).toMatchObject({ channel, reason: 'epoch_changed', offset: 4 });
    } finally {
      sseStream.close();
    }
    const foreignPoll = await pollOnce(`cursor=${foreign}&wait=0`, auth);
    expect(foreignPoll.discontinuities).toEqual([
      { channel, epoch: expect.any(String), offset: 4, reason: 'epoch_changed' },
    ]);
    expect(foreignPoll.publications).toEqual([]);

    const realEpoch = foreignPoll.discontinuities![0]!.epoch;
    const expired = await pollOnce(
      `cursor=${encodeCursor({ [channel]: { epoch: realEpoch, offset: 1 } })}&wait=0`,
      auth,
    );
    expect(expired.discontinuities).toEqual([{ channel, epoch: realEpoch, offset: 4, reason: 'history_expired' }]);
    expect(expired.publications).toEqual([]);
  });
});
