// NDJSON streaming against a real server: curl -N, fetch streams, resume with ?cursor= checked by
// the ledger, an explicit discontinuity, errors, heartbeats and the end line at shutdown.
import { spawn } from 'node:child_process';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
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

const stream = async (query: string, headers: Record<string, string> = {}) =>
  StreamClient.open(`${base}/connection/stream?${query}`, 'ndjson', headers);

describe('NDJSON stream', () => {
  it('curl -N receives one JSON object a line', async () => {
    const t = await token('alice');
    const curl = spawn(requireTool('curl', 'curl'), [
      '-sS',
      '-N',
      `${base}/connection/stream?channel=chat:curl&token=${t}`,
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
      await until('"type":"connected"');
      const ack = await publish(base, 'chat:curl', { text: 'hello from curl' });
      await until('hello from curl');
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[1]).toEqual({
        type: 'publication',
        channel: 'chat:curl',
        offset: 1,
        epoch: ack.epoch,
        data: { text: 'hello from curl' },
        cursor: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      });
    } finally {
      curl.kill();
    }
  });

  it('sends heartbeat lines and the stream headers', async () => {
    const c = await stream(`channel=chat:hb&token=${await token('alice')}`);
    try {
      expect(c.response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(c.response.headers.get('x-accel-buffering')).toBe('no');
      await c.next((e) => e.event === 'connected');
      await new Promise((r) => setTimeout(r, 1_300));
      expect(c.heartbeats).toBeGreaterThanOrEqual(1);
    } finally {
      c.close();
    }
  });

  it('resumes with ?cursor=: exactly the missed publications, then live ones', async () => {
    const channel = 'chat:resume';
    const ledger = createLedger();
    ledger.subscribed('s', channel);
    const t = await token('alice');
    const receive = async (c: StreamClient, n: number) => {
      let cursor = '';
      for (let i = 0; i < n; i++) {
        const e = await c.next((x) => x.event === 'publication');
        const d = e.data as { offset: number; epoch: string; data: { id: string } };
        ledger.received('s', channel, { offset: d.offset, epoch: d.epoch, id: d.data.id });
        cursor = e.id ?? '';
      }
      return cursor;
    };
    const first = await stream(`channel=${channel}&token=${t}`);
    await first.next((e) => e.event === 'connected');
    for (let i = 0; i < 5; i++) await publishAcked(base, ledger, channel, `before-${i}`);
    const cursor = await receive(first, 5);
    first.close();
    for (let i = 0; i < 40; i++) await publishAcked(base, ledger, channel, `missed-${i}`);
    const second = await stream(`channel=${channel}&token=${t}&cursor=${cursor}`);
    try {
      await receive(second, 40);
      for (let i = 0; i < 3; i++) await publishAcked(base, ledger, channel, `after-${i}`);
      await receive(second, 3);
    } finally {
      second.close();
    }
    const report = ledger.check({ expectAll: true });
    expect(report.lost, formatLedgerReport(report)).toBe(0);
    expect(report.duplicated, formatLedgerReport(report)).toBe(0);
    expect(report.reordered, formatLedgerReport(report)).toBe(0);
    expect(report.silentGaps, formatLedgerReport(report)).toBe(0);
  });

  it('signals a discontinuity on a channel without history instead of skipping silently', async () => {
    const t = await token('alice');
    const first = await stream(`channel=live:x&token=${t}`);
    const connected = await first.next((e) => e.event === 'connected');
    first.close();
    await publish(base, 'live:x', { n: 1 });
    const second = await stream(`channel=live:x&token=${t}&cursor=${connected.id}`);
    try {
      const gap = await second.next((e) => e.event === 'discontinuity');
      expect(gap.data).toMatchObject({ channel: 'live:x', reason: 'not_recoverable' });
    } finally {
      second.close();
    }
  });

  it('answers a malformed cursor and an unknown channel with JSON errors', async () => {
    const t = await token('alice');
    const bad = await fetch(`${base}/connection/stream?channel=chat:x&token=${t}&cursor=%%%`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: number } }).error.code).toBe(107);
    const unknown = await fetch(`${base}/connection/stream?channel=nowhere:x&token=${t}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 102, message: 'unknown channel' } });
  });
});

describe('NDJSON shutdown', () => {
  it('ends with a final end line carrying 3001', async () => {
    const own = await startOneWayServer();
    const c = await StreamClient.open(
      `${own.url}/connection/stream?channel=chat:bye&token=${await token('a')}`,
      'ndjson',
    );
    await c.next((e) => e.event === 'connected');
    await own.close();
    const end = await c.next((e) => e.event === 'end');
    expect(end.data).toEqual({ type: 'end', code: 3001, reason: 'shutdown', reconnect: true });
    await c.untilEnded();
  });
});
