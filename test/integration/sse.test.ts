// Server-Sent Events against a real server: curl -N, fetch streams and the `eventsource` package;
// resume with Last-Event-ID checked by the ledger; explicit discontinuities; errors; shutdown.
import { spawn } from 'node:child_process';
import { encodeCursor } from '@tidings/protocol';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../apps/tidings/src/serve.js';
import { StreamClient } from './one-way-client.js';
import { publish, publishAcked, startOneWayServer, token } from './one-way-server.js';
import { requireTool } from './system-tools.js';

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startOneWayServer();
  base = server.url;
});
afterAll(async () => {
  await server.close();
});

const sse = async (query: string, headers: Record<string, string> = {}) =>
  StreamClient.open(`${base}/connection/sse?${query}`, 'sse', headers);

describe('SSE', () => {
  it('curl -N receives a publication published through the API', async () => {
    const t = await token('alice');
    const curl = spawn(requireTool('curl', 'curl'), [
      '-sS',
      '-N',
      `${base}/connection/sse?channel=chat:curl`,
      '-H',
      `Authorization: Bearer ${t}`,
    ]);
    let out = '';
    curl.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      const until = async (text: string) => {
        const deadline = Date.now() + 5000;
        while (!out.includes(text)) {
          if (Date.now() > deadline) throw new Error(`curl output so far: ${out}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until('event: connected');
      await publish(base, 'chat:curl', { text: 'hello from curl' });
      await until('hello from curl');
      expect(out).toMatch(/^retry: 1500\n\n/);
      expect(out).toMatch(
        /\nid: [A-Za-z0-9_-]+\ndata: \{"type":"publication","channel":"chat:curl","offset":1,"epoch":"[^"]+","data":\{"text":"hello from curl"\}\}\n\n/,
      );
    } finally {
      curl.kill();
    }
  });

  it('sends the stream headers, a retry hint and heartbeat comments', async () => {
    const c = await sse(`channel=chat:headers&token=${await token('alice')}`);
    try {
      expect(c.response.status).toBe(200);
      expect(c.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(c.response.headers.get('cache-control')).toBe('no-cache');
      expect(c.response.headers.get('x-accel-buffering')).toBe('no');
      const connected = await c.next((e) => e.event === 'connected');
      expect(connected.data.channels).toEqual(['chat:headers']);
      expect(connected.id).toMatch(/^[A-Za-z0-9_-]+$/);
      await new Promise((r) => setTimeout(r, 1_300));
      expect(c.heartbeats).toBeGreaterThanOrEqual(1);
    } finally {
      c.close();
    }
  });

  it('takes the token from a cookie', async () => {
    const c = await sse('channel=chat:cookie', { cookie: `other=1; tidings_token=${await token('carol')}` });
    try {
      expect(c.response.status).toBe(200);
      await c.next((e) => e.event === 'connected');
    } finally {
      c.close();
    }
  });

  it('resumes with Last-Event-ID: exactly the missed publications, in order, then live ones', async () => {
    const channel = 'chat:resume';
    const ledger = createLedger();
    ledger.subscribed('s', channel);
    const auth = { authorization: `Bearer ${await token('alice')}` };
    const receive = async (c: StreamClient, n: number) => {
      let last = '';
      for (let i = 0; i < n; i++) {
        const e = await c.next((x) => x.event === 'message');
        const d = e.data as { offset: number; epoch: string; data: { id: string } };
        ledger.received('s', channel, { offset: d.offset, epoch: d.epoch, id: d.data.id });
        last = e.id ?? '';
      }
      return last;
    };
    const first = await sse(`channel=${channel}`, auth);
    await first.next((e) => e.event === 'connected');
    for (let i = 0; i < 10; i++) await publishAcked(base, ledger, channel, `before-${i}`);
    const lastId = await receive(first, 10);
    first.close();

    for (let i = 0; i < 30; i++) await publishAcked(base, ledger, channel, `missed-${i}`);
    const second = await sse(`channel=${channel}`, { ...auth, 'last-event-id': lastId });
    try {
      const connected = await second.next((e) => e.event === 'connected');
      expect(connected.id).toBe(lastId);
      await receive(second, 30);
      for (let i = 0; i < 5; i++) await publishAcked(base, ledger, channel, `after-${i}`);
      await receive(second, 5);
      expect(second.events.filter((e) => e.event === 'discontinuity')).toEqual([]);
    } finally {
      second.close();
    }
    const report = ledger.check({ expectAll: true });
    expect(report.lost, formatLedgerReport(report)).toBe(0);
    expect(report.duplicated, formatLedgerReport(report)).toBe(0);
    expect(report.reordered, formatLedgerReport(report)).toBe(0);
    expect(report.silentGaps, formatLedgerReport(report)).toBe(0);
  });

  it('gives an explicit discontinuity for a cursor whose history expired', async () => {
    const channel = 'brief:expired';
    const auth = { authorization: `Bearer ${await token('alice')}` };
    const first = await sse(`channel=${channel}`, auth);
    await first.next((e) => e.event === 'connected');
    await publish(base, channel, { n: 1 });
    const seen = await first.next((e) => e.event === 'message');
    first.close();
    await publish(base, channel, { n: 2 });
    await new Promise((r) => setTimeout(r, 1_300)); // brief:* keeps history for 1 s
    const second = await sse(`channel=${channel}&cursor=${seen.id}`, auth);
    try {
      const gap = await second.next((e) => e.event === 'discontinuity');
      expect(gap.data).toMatchObject({ type: 'discontinuity', channel, offset: 2, reason: 'history_expired' });
      expect(gap.id).not.toBe(seen.id);
      expect(second.events.filter((e) => e.event === 'message')).toEqual([]);
    } finally {
      second.close();
    }
  });

  it('gives an explicit discontinuity for a cursor from another epoch', async () => {
    const channel = 'chat:foreign';
    const top = await publish(base, channel, { n: 1 });
    const cursor = encodeCursor({ [channel]: { epoch: 'elsewhere', offset: 7 } });
    const c = await sse(`channel=${channel}`, { authorization: `Bearer ${await token('a')}`, 'last-event-id': cursor });
    try {
      const gap = await c.next((e) => e.event === 'discontinuity');
      expect(gap.data).toEqual({
        type: 'discontinuity',
        channel,
        epoch: top.epoch,
        offset: 1,
        reason: 'epoch_changed',
      });
    } finally {
      c.close();
    }
  });

  it('answers bad requests with a JSON error before any stream starts', async () => {
    const t = await token('alice');
    const status = async (query: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}/connection/sse?${query}`, { headers });
      return { status: res.status, body: (await res.json()) as { error: { code: number; message: string } } };
    };
    const bad = await status(`channel=chat:x&token=${t}&cursor=not*a*cursor`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe(107);
    expect((await status(`channel=chat:x&token=${t}`, { 'last-event-id': 'AQ' })).status).toBe(400);
    const unknown = await status(`channel=nowhere:x&token=${t}`);
    expect(unknown).toEqual({ status: 404, body: { error: { code: 102, message: 'unknown channel' } } });
    expect((await status(`channel=locked:x&token=${t}`)).status).toBe(403);
    expect((await status('channel=chat:x')).status).toBe(401);
    expect((await status('channel=chat:x&token=forged')).status).toBe(401);
    expect((await status(`token=${t}`)).body.error.code).toBe(107);
    expect((await fetch(`${base}/connection/sse?channel=chat:x`, { method: 'POST' })).status).toBe(405);
  });

  it('works with the eventsource package, resuming on its own after the server ends the stream', async () => {
    const t = await token('alice');
    const es = new EventSource(`${base}/connection/sse?channel=chat:es&token=${t}`);
    const received: unknown[] = [];
    const connected: string[] = [];
    es.addEventListener('connected', (e) => connected.push(e.lastEventId));
    es.onmessage = (e) => received.push((JSON.parse(e.data) as { data: unknown }).data);
    try {
      const until = async (check: () => boolean) => {
        const deadline = Date.now() + 8000;
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`received ${JSON.stringify(received)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(() => connected.length === 1);
      await publish(base, 'chat:es', { n: 1 });
      await until(() => received.length === 1);
      // The server ends every stream of alice; the browser-style client reconnects with Last-Event-ID.
      await server.node.disconnectUser('alice', { code: 3000, reason: 'reconnect' });
      await publish(base, 'chat:es', { n: 2 });
      await until(() => received.length === 2);
      expect(received).toEqual([{ n: 1 }, { n: 2 }]);
      expect(connected.length).toBe(2);
    } finally {
      es.close();
    }
  });
});

describe('SSE shutdown', () => {
  it('ends the stream with an end event carrying 3001', async () => {
    const own = await startOneWayServer();
    const c = await StreamClient.open(`${own.url}/connection/sse?channel=chat:bye&token=${await token('a')}`, 'sse');
    await c.next((e) => e.event === 'connected');
    await own.close();
    const end = await c.next((e) => e.event === 'end');
    expect(end.data).toEqual({ type: 'end', code: 3001, reason: 'shutdown', reconnect: true });
    await c.untilEnded();
  });
});
