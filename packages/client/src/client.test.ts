import { jsonCodec, type Reply } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { TidingsClient } from './client.js';
import type { Clock } from './clock.js';
import type { TransportFactory, TransportHandlers } from './transport.js';

/** A fake clock: timers fire only when the test advances time. */
function fakeClock() {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(next, { at: now + ms, fn });
      return next++;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= now && timers.delete(id)) t.fn();
    }
  };
  return { clock, advance, pending: () => [...timers.values()].map((t) => t.at - now) };
}

/** A fake transport factory recording every opened connection's handlers and sent commands. */
function fakeTransports() {
  const opened: { handlers: TransportHandlers; sent: unknown[] }[] = [];
  const factory: TransportFactory = {
    name: 'fake',
    open(handlers) {
      const conn = { handlers, sent: [] as unknown[] };
      opened.push(conn);
      return {
        name: 'fake',
        send: (f) => conn.sent.push(...JSON.parse(`[${new TextDecoder().decode(f).split('\n').join(',')}]`)),
        close: () => {},
      };
    },
  };
  const reply = (i: number, r: Reply) => opened[i]?.handlers.onMessage(jsonCodec.encodeReply(r));
  return { factory, opened, reply };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('TidingsClient with a fake clock and transport', () => {
  it('reconnects with jittered backoff and ignores callbacks of a replaced transport', async () => {
    const { clock, advance, pending } = fakeClock();
    const t = fakeTransports();
    const states: string[] = [];
    const client = new TidingsClient({
      transports: [t.factory],
      codec: jsonCodec,
      clock,
      random: () => 0.5,
      backoff: { minDelayMs: 1000, maxDelayMs: 8000 },
    });
    client.on('state', (e) => states.push(`${e.state}:${e.reason}`));
    client.connect();
    t.opened[0]?.handlers.onOpen();
    await tick();
    t.reply(0, { id: 1, connect: { client: 'c1' } });
    await tick();
    expect(client.state).toBe('connected');
    t.opened[0]?.handlers.onClose(3001, 'shutdown');
    expect(client.state).toBe('disconnected');
    expect(pending()).toEqual([500]);
    advance(500);
    expect(t.opened).toHaveLength(2);
    // The first transport's late close must not touch the second connection.
    t.opened[0]?.handlers.onClose(1006, '');
    expect(client.state).toBe('connecting');
    expect(states).toEqual([
      'connecting:connect_called',
      'connected:connect_reply',
      'disconnected:server_disconnect',
      'connecting:backoff_elapsed',
    ]);
  });

  it('a terminal disconnect code closes for good', async () => {
    const { clock, pending } = fakeClock();
    const t = fakeTransports();
    const client = new TidingsClient({ transports: [t.factory], codec: jsonCodec, clock });
    client.connect();
    t.opened[0]?.handlers.onOpen();
    await tick();
    t.reply(0, { id: 1, connect: { client: 'c1' } });
    await tick();
    t.opened[0]?.handlers.onClose(3500, 'invalid token');
    expect(client.state).toBe('closed');
    expect(pending()).toEqual([]);
  });

  it('refreshes the connection token before it expires without reconnecting', async () => {
    const { clock, advance } = fakeClock();
    const t = fakeTransports();
    let n = 0;
    const client = new TidingsClient({
      transports: [t.factory],
      codec: jsonCodec,
      clock,
      getToken: async () => `tok${++n}`,
    });
    client.connect();
    t.opened[0]?.handlers.onOpen();
    await tick();
    expect(t.opened[0]?.sent[0]).toMatchObject({ id: 1, connect: { token: 'tok1' } });
    t.reply(0, { id: 1, connect: { client: 'c1', expires: true, ttl: 60 } });
    await tick();
    advance(50_000);
    await tick();
    expect(t.opened[0]?.sent[1]).toMatchObject({ refresh: { token: 'tok2' } });
    expect(t.opened).toHaveLength(1);
    expect(client.state).toBe('connected');
  });

  it('buffers pushes during a recovering subscribe and delivers strictly in offset order, once', async () => {
    const t = fakeTransports();
    const { clock } = fakeClock();
    const client = new TidingsClient({ transports: [t.factory], codec: jsonCodec, clock });
    const sub = client.subscribe('ch');
    const got: (number | undefined)[] = [];
    sub.on('publication', (p) => got.push(p.offset));
    client.connect();
    t.opened[0]?.handlers.onOpen();
    await tick();
    t.reply(0, { id: 1, connect: { client: 'c1' } });
    await tick();
    await tick();
    // Every subscribe asks for a positioned, recoverable stream (regression: without it a
    // namespace without forceRecovery gave no position, and a reconnect skipped publications).
    expect(t.opened[0]?.sent[1]).toMatchObject({
      id: 2,
      subscribe: { channel: 'ch', recoverable: true, positioned: true },
    });
    const data = new TextEncoder().encode('{}');
    // The push for offset 3 arrives before the subscribe reply that recovers 1 and 2.
    t.reply(0, { push: { channel: 'ch', pub: { data, offset: 3 } } });
    t.reply(0, {
      id: 2,
      subscribe: {
        epoch: 'e',
        offset: 2,
        recoverable: true,
        publications: [
          { data, offset: 1 },
          { data, offset: 2 },
        ],
      },
    });
    await tick();
    t.reply(0, { push: { channel: 'ch', pub: { data, offset: 3 } } });
    t.reply(0, { push: { channel: 'ch', pub: { data, offset: 4 } } });
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('falls back to the next transport when one fails to open, and moves back up later', async () => {
    const { clock, advance } = fakeClock();
    const good = fakeTransports();
    const refused: TransportFactory = {
      name: 'refused',
      open(handlers) {
        queueMicrotask(() => handlers.onClose(1006, 'refused'));
        return { name: 'refused', send: () => {}, close: () => {} };
      },
    };
    const client = new TidingsClient({
      transports: [refused, good.factory],
      codec: jsonCodec,
      clock,
      random: () => 0,
      upgradeAfterMs: 1000,
    });
    const reasons: string[] = [];
    client.on('state', (e) => reasons.push(`${e.state}:${e.reason}`));
    client.connect();
    await tick();
    expect(reasons).toContain('disconnected:transport_failed');
    advance(1);
    expect(client.transport).toBe('fake');
    good.opened[0]?.handlers.onOpen();
    await tick();
    good.reply(0, { id: 1, connect: { client: 'c1' } });
    await tick();
    expect(client.state).toBe('connected');
    advance(1000);
    expect(client.transport).toBe('refused');
  });

  it('a transport that opens but brings no connect reply (a buffering proxy) fails over after connectTimeoutMs', async () => {
    const { clock, advance } = fakeClock();
    const buffered = fakeTransports();
    const good = fakeTransports();
    const client = new TidingsClient({
      transports: [buffered.factory, { ...good.factory, name: 'good' }],
      codec: jsonCodec,
      clock,
      random: () => 0,
      connectTimeoutMs: 5000,
    });
    const reasons: string[] = [];
    client.on('state', (e) => reasons.push(`${e.state}:${e.reason}:${e.transport}`));
    client.connect();
    buffered.opened[0]?.handlers.onOpen();
    await tick();
    expect(buffered.opened[0]?.sent[0]).toMatchObject({ connect: {} });
    advance(4999);
    expect(client.state).toBe('connecting');
    advance(1);
    expect(reasons).toContain('disconnected:transport_failed:fake');
    expect(client.transport).toBe('good');
    advance(1);
    expect(good.opened).toHaveLength(1);
    // A late reply of the abandoned transport changes nothing.
    buffered.reply(0, { id: 1, connect: { client: 'late' } });
    expect(client.state).toBe('connecting');
  });
});
