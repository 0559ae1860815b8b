import {
  type Codec,
  clientError,
  type Disconnect,
  ErrorCode,
  jsonCodec,
  type Push,
  type Reply,
} from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator, Credentials } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { Broker, BrokerEventHandler, HistoryQuery, HistoryReadResult } from '../broker/types.js';
import { FakeClock } from '../internal/clock.js';
import type { Transport } from '../transport/types.js';
import type { NamespaceOptions } from './channel-options.js';
import { EncodedPush } from './encoded-push.js';
import { createNode, type TidingsNode } from './node.js';
import type { Session } from './session.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An in-memory transport that records what the session writes. */
class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly unidirectional = false;
  readonly codec: Codec;
  bufferedBytes = 0;
  frames: Uint8Array[] = [];
  closed: Disconnect | undefined;
  constructor(codec: Codec = jsonCodec) {
    this.codec = codec;
  }
  write(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
  /** Every reply written so far, parsed from the JSON lines. */
  replies(): Array<Record<string, unknown>> {
    return this.frames.flatMap((f) =>
      dec
        .decode(f)
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
  }
  pushes(): Array<Record<string, unknown>> {
    return this.replies()
      .filter((r) => r.push !== undefined)
      .map((r) => r.push as Record<string, unknown>);
  }
}

/** Tokens are user ids; "expired" fails with 109 and "bad" with 101. */
const authenticator: Authenticator = {
  async authenticate(req) {
    if (req.token === undefined) return { userId: '', anonymous: true, channels: [] };
    if (req.token === 'expired') throw clientError(ErrorCode.TokenExpired);
    if (req.token === 'bad') throw clientError(ErrorCode.Unauthorized);
    const [user, exp, channels] = req.token.split('|');
    const creds: Credentials = {
      userId: user ?? '',
      anonymous: false,
      channels: channels ? channels.split(',') : [],
      ...(exp ? { expireAt: Number(exp) } : {}),
    };
    return creds;
  },
  async verifySubscriptionToken() {
    throw clientError(ErrorCode.Unauthorized);
  },
};

const open: Partial<NamespaceOptions> = {
  historySize: 100,
  historyTtlMs: 600_000,
  allowRecovery: true,
  allowSubscribeForClient: true,
  allowPublishForSubscriber: true,
  allowHistoryForSubscriber: true,
  presence: true,
  allowPresenceForSubscriber: true,
  joinLeave: true,
};

const flush = () => new Promise((r) => setImmediate(r));

/** A broker that delegates to `inner` except where `over` says otherwise. */
function wrapBroker(inner: Broker, over: Partial<Broker>): Broker {
  return {
    start: (h) => inner.start(h),
    subscribe: (chs) => inner.subscribe(chs),
    unsubscribe: (chs) => inner.unsubscribe(chs),
    publish: (ch, d, o) => inner.publish(ch, d, o),
    publishJoin: (ch, i) => inner.publishJoin(ch, i),
    publishLeave: (ch, i) => inner.publishLeave(ch, i),
    close: () => inner.close(),
    ...over,
  };
}
const nodes: TidingsNode[] = [];

async function setup(
  opts: {
    clock?: FakeClock;
    history?: (q: HistoryQuery, read: () => Promise<HistoryReadResult>) => Promise<HistoryReadResult>;
    broker?: (inner: Broker) => Broker;
  } = {},
) {
  const clock = opts.clock ?? new FakeClock(Date.now());
  const engine = createMemoryEngine({ clock });
  const history = opts.history
    ? {
        history: (ch: string, q: HistoryQuery) => opts.history!(q, () => engine.history.history(ch, q)),
        removeHistory: (ch: string) => engine.history.removeHistory(ch),
      }
    : engine.history;
  const node = createNode({
    broker: opts.broker ? opts.broker(engine.broker) : engine.broker,
    history,
    presence: engine.presence,
    authenticator,
    clock,
    channels: { namespaces: { room: open, closed: {} } },
    client: {
      pingIntervalMs: 10_000,
      pongTimeoutMs: 3_000,
      maxQueueBytes: 4096,
      maxSubscriptions: 3,
      expiredCloseDelayMs: 1_000,
    },
  });
  await node.start();
  nodes.push(node);
  const connect = async (token = 'alice', codec?: Codec) => {
    const t = new MemoryTransport(codec);
    const s = node.openSession(t);
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token } })));
    await flush();
    await flush();
    return { t, s };
  };
  const send = async (s: Session, cmd: object) => {
    s.handleFrame(enc.encode(JSON.stringify(cmd)));
    for (let i = 0; i < 5; i++) await flush();
  };
  return { node, clock, connect, send };
}

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

const replyTo = (t: MemoryTransport, id: number) =>
  t.replies().find((r) => r.id === id) as Reply & Record<string, unknown>;

describe('Session', () => {
  it('answers connect with client id, ping interval and pong requirement', async () => {
    const { connect } = await setup();
    const { t, s } = await connect();
    const r = replyTo(t, 1) as { connect: { client: string; ping: number; pong: boolean } };
    expect(r.connect.client).toBe(s.id);
    expect(r.connect.ping).toBe(10);
    expect(r.connect.pong).toBe(true);
    expect(s.state).toBe('connected');
  });

  it('closes with 3501 when a command comes before connect', async () => {
    const { node } = await setup();
    const t = new MemoryTransport();
    const s = node.openSession(t);
    s.handleFrame(enc.encode('{"id":1,"subscribe":{"channel":"room:a"}}'));
    await flush();
    expect(t.closed?.code).toBe(3501);
  });

  it('closes with 3501 on a malformed frame', async () => {
    const { connect } = await setup();
    const { t, s } = await connect();
    s.handleFrame(enc.encode('{"id":2,"subscribe":'));
    expect(t.closed?.code).toBe(3501);
  });

  it('closes with 3500 on an invalid token and replies 109 on an expired one', async () => {
    const { connect } = await setup();
    const bad = await connect('bad');
    expect(bad.t.closed?.code).toBe(3500);
    const expired = await connect('expired');
    expect(replyTo(expired.t, 1).error?.code).toBe(109);
    expect(expired.t.closed).toBeUndefined();
  });

  it('maps subscribe errors to wire codes', async () => {
    const { connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'nope:x' } });
    await send(s, { id: 3, subscribe: { channel: 'closed:x' } });
    await send(s, { id: 4, subscribe: { channel: 'bad channel' } });
    await send(s, { id: 5, subscribe: { channel: 'room:a' } });
    await send(s, { id: 6, subscribe: { channel: 'room:a' } });
    await send(s, { id: 7, subscribe: { channel: 'room:b' } });
    await send(s, { id: 8, subscribe: { channel: 'room:c' } });
    await send(s, { id: 9, subscribe: { channel: 'room:d' } });
    expect([2, 3, 4, 6, 9].map((id) => replyTo(t, id).error?.code)).toEqual([102, 103, 107, 105, 106]);
    expect(replyTo(t, 5).subscribe).toBeDefined();
  });

  it('delivers a publication to subscribers, encoding it once per codec', async () => {
    const { node, connect, send } = await setup();
    let encodes = 0;
    const counting: Codec = {
      ...jsonCodec,
      encodePush: (p: Push) => {
        encodes++;
        return jsonCodec.encodePush(p);
      },
    };
    const subs = await Promise.all([connect('a', counting), connect('b', counting), connect('c', counting)]);
    for (const { s } of subs) await send(s, { id: 2, subscribe: { channel: 'room:fan' } });
    encodes = 0;
    await node.publish('room:fan', enc.encode('{"n":1}'));
    await flush();
    for (const { t } of subs) {
      const pubs = t.pushes().filter((p) => p.pub !== undefined);
      expect(pubs).toEqual([{ channel: 'room:fan', pub: expect.objectContaining({ data: { n: 1 }, offset: 1 }) }]);
    }
    expect(encodes).toBe(1);
  });

  it('recovers exactly the missed publications after a resubscribe', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:r', recoverable: true } });
    const first = replyTo(t, 2).subscribe as { epoch: string; recoverable: boolean };

    expect(first.recoverable).toBe(true);
    await node.publish('room:r', enc.encode('1'));
    await send(s, { id: 3, unsubscribe: { channel: 'room:r' } });
    for (let i = 2; i <= 6; i++) await node.publish('room:r', enc.encode(String(i)));
    await send(s, { id: 4, subscribe: { channel: 'room:r', recover: true, epoch: first.epoch, offset: 1 } });

    const res = replyTo(t, 4).subscribe as {
      recovered: boolean;
      was_recovering: boolean;
      publications: Array<{ data: number; offset: number }>;
    };
    expect(res.recovered).toBe(true);
    expect(res.was_recovering).toBe(true);
    expect(res.publications.map((p) => [p.offset, p.data])).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
  });

  it('reports recovered: false across a publication sent with skipHistory, and history skips it', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:skip', recoverable: true } });
    const epoch = (replyTo(t, 2).subscribe as { epoch: string }).epoch;
    await send(s, { id: 3, unsubscribe: { channel: 'room:skip' } });
    await node.publish('room:skip', enc.encode('1'));
    const skipped = await node.publish('room:skip', enc.encode('2'), { skipHistory: true });
    await node.publish('room:skip', enc.encode('3'));
    expect(skipped.offset).toBe(2);
    const read = await node.history('room:skip', { limit: -1, since: { offset: 2, epoch } });
    expect(read.publications.map((p) => p.offset)).toEqual([3]);
    await send(s, { id: 4, subscribe: { channel: 'room:skip', recover: true, epoch, offset: 0 } });
    const res = replyTo(t, 4).subscribe as { recovered?: boolean; was_recovering: boolean; offset: number };
    expect(res.was_recovering).toBe(true);
    expect(res.recovered).toBeUndefined();
    expect(res.offset).toBe(3);
  });

  it('reports recovered: false for a foreign epoch', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await node.publish('room:e', enc.encode('1'));
    await send(s, {
      id: 2,
      subscribe: { channel: 'room:e', recoverable: true, recover: true, epoch: 'other', offset: 1 },
    });
    const res = replyTo(t, 2).subscribe as { recovered?: boolean; was_recovering: boolean };
    expect(res.was_recovering).toBe(true);
    expect(res.recovered).toBeUndefined();
  });

  it('buffers publications that arrive while history is read (no loss, no duplicate)', async () => {
    let node!: TidingsNode;
    let inject = false;
    const env = await setup({
      history: async (q, read) => {
        if (inject && q.limit !== 0) {
          const result = await read();
          // Published after the read: must come from the live buffer.
          await node.publish('room:race', enc.encode('"late1"'));
          await node.publish('room:race', enc.encode('"late2"'));
          return result;
        }
        return read();
      },
    });
    node = env.node;
    const { t, s } = await env.connect();
    await env.send(s, { id: 2, subscribe: { channel: 'room:race', recoverable: true } });
    const epoch = (replyTo(t, 2).subscribe as { epoch: string }).epoch;
    await env.send(s, { id: 3, unsubscribe: { channel: 'room:race' } });
    await node.publish('room:race', enc.encode('"missed"'));
    inject = true;
    await env.send(s, { id: 4, subscribe: { channel: 'room:race', recover: true, epoch, offset: 0 } });
    const res = replyTo(t, 4).subscribe as { recovered: boolean; publications: Array<{ offset: number }> };
    expect(res.recovered).toBe(true);
    expect(res.publications.map((p) => p.offset)).toEqual([1]);
    const live = t
      .pushes()
      .filter((p) => p.pub !== undefined)
      .map((p) => (p.pub as { offset: number }).offset);
    expect(live).toEqual([2, 3]);
  });

  it('disconnects a slow consumer with 3008 and keeps the queue bounded', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:slow' } });
    t.bufferedBytes = 4000; // the peer stopped reading
    for (let i = 0; i < 10; i++) await node.publish('room:slow', enc.encode(`"${'x'.repeat(50)}"`));
    expect(t.closed?.code).toBe(3008);
    expect(s.state).toBe('closed');
  });

  it('pings, and closes with 3012 when no pong comes back', async () => {
    const clock = new FakeClock(Date.now());
    const { connect } = await setup({ clock });
    const quiet = await connect('q');
    const polite = await connect('p');
    clock.advance(10_000);
    await flush();
    expect(quiet.t.replies().some((r) => Object.keys(r).length === 0)).toBe(true);
    polite.s.handleFrame(enc.encode('{}'));
    clock.advance(3_000);
    expect(quiet.t.closed?.code).toBe(3012);
    expect(polite.t.closed).toBeUndefined();
  });

  it('pings every session at its interval from the shared queue and closes only the silent one with 3012', async () => {
    const clock = new FakeClock(Date.now());
    const { connect } = await setup({ clock });
    const early = await connect('e');
    clock.advance(4_000);
    const late = await connect('l');
    const pings = (t: MemoryTransport) => t.replies().filter((r) => Object.keys(r).length === 0).length;
    for (let round = 1; round <= 3; round++) {
      clock.advance(5_999);
      expect(pings(early.t)).toBe(round - 1);
      clock.advance(1); // 10 s after early's connect (or its last ping)
      await flush();
      expect(pings(early.t)).toBe(round);
      early.s.handleFrame(enc.encode('{}'));
      expect(pings(late.t)).toBe(round - 1);
      clock.advance(4_000); // 10 s after late's connect (or its last ping)
      await flush();
      expect(pings(late.t)).toBe(round);
      if (round < 3) late.s.handleFrame(enc.encode('{}'));
    }
    clock.advance(2_999);
    expect(late.t.closed).toBeUndefined();
    clock.advance(1); // pong timeout after late's third ping, which went unanswered
    expect(late.t.closed?.code).toBe(3012);
    expect(early.t.closed).toBeUndefined();
    expect(early.s.state).toBe('connected');
  });

  it('hands the peer context to every connect attempt and keeps none of it once connected', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const clock = new FakeClock(Date.now());
    const node = createNode({
      ...createMemoryEngine({ clock }),
      authenticator: {
        ...authenticator,
        async authenticate(req) {
          seen.push({ ...req });
          if (req.token === 'expired') throw clientError(ErrorCode.TokenExpired);
          return { userId: 'h', anonymous: false, channels: [] };
        },
      },
      clock,
    });
    await node.start();
    nodes.push(node);
    const t = new MemoryTransport();
    const s = node.openSession(t, { headers: { cookie: 'sid=1' }, remoteAddress: '127.0.0.9' });
    expect(s.context?.headers?.cookie).toBe('sid=1');
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: 'expired' } })));
    await flush();
    await flush();
    expect(replyTo(t, 1).error?.code).toBe(109);
    expect(s.context?.headers?.cookie).toBe('sid=1'); // the client may retry with a new token
    s.handleFrame(enc.encode(JSON.stringify({ id: 2, connect: {} })));
    await flush();
    await flush();
    expect(s.state).toBe('connected');
    const peer = { headers: { cookie: 'sid=1' }, remoteAddress: '127.0.0.9' };
    expect(seen).toEqual([{ token: 'expired', ...peer }, peer]);
    expect(s.context).toBeUndefined();
  });

  it('closes a connection that never sends connect with 3502 (stale)', async () => {
    const clock = new FakeClock(Date.now());
    const { node } = await setup({ clock });
    const t = new MemoryTransport();
    node.openSession(t);
    clock.advance(10_000);
    expect(t.closed?.code).toBe(3502);
  });

  it('closes with 3005 when the token expires without refresh', async () => {
    const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000); // whole second: exp is in seconds
    const { connect } = await setup({ clock });
    const exp = Math.floor(clock.now() / 1000) + 8;
    const { t } = await connect(`alice|${exp}`);
    const r = replyTo(t, 1) as { connect: { expires: boolean; ttl: number } };
    expect(r.connect.expires).toBe(true);
    expect(r.connect.ttl).toBeGreaterThan(6);
    clock.advance(8_500);
    expect(t.closed).toBeUndefined(); // within the grace after expiry
    clock.advance(1_000);
    expect(t.closed?.code).toBe(3005);
  });

  it('closes with 3005 on time when the token outlives several ping intervals, and not after a refresh', async () => {
    const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
    const { connect, send } = await setup({ clock });
    const exp = Math.floor(clock.now() / 1000) + 35; // 3.5 ping intervals
    const expiring = await connect(`alice|${exp}`);
    const refreshed = await connect(`bob|${exp}`);
    const pong = () => {
      expiring.s.handleFrame(enc.encode('{}'));
      refreshed.s.handleFrame(enc.encode('{}'));
    };
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      pong();
    }
    await send(refreshed.s, { id: 2, refresh: { token: `bob|${exp + 60}` } });
    expect(replyTo(refreshed.t, 2)).toMatchObject({ refresh: { expires: true } });
    clock.advance(5_999); // 35 s + 1 s grace after connect, less 1 ms
    expect(expiring.t.closed).toBeUndefined();
    clock.advance(1);
    expect(expiring.t.closed?.code).toBe(3005);
    expect(refreshed.t.closed).toBeUndefined();
    clock.advance(4_000); // 40 s
    for (let i = 0; i < 6; i++) {
      refreshed.s.handleFrame(enc.encode('{}'));
      clock.advance(i < 5 ? 10_000 : 5_999);
    }
    expect(refreshed.t.closed).toBeUndefined();
    clock.advance(1); // 95 s expiry + 1 s grace
    expect(refreshed.t.closed?.code).toBe(3005);
  });

  it('keeps several subscriptions in subscription order and delivers to each as the first comes and goes', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:a' } });
    await send(s, { id: 3, subscribe: { channel: 'room:b' } });
    await send(s, { id: 4, subscribe: { channel: 'room:c' } });
    expect(s.channels()).toEqual(['room:a', 'room:b', 'room:c']);
    await send(s, { id: 5, subscribe: { channel: 'room:d' } });
    expect(replyTo(t, 5).error?.code).toBe(106);
    await send(s, { id: 6, unsubscribe: { channel: 'room:a' } });
    expect(s.channels()).toEqual(['room:b', 'room:c']);
    await send(s, { id: 7, subscribe: { channel: 'room:a' } });
    expect(s.channels()).toEqual(['room:b', 'room:c', 'room:a']);
    await send(s, { id: 8, unsubscribe: { channel: 'room:c' } });
    expect(s.channels()).toEqual(['room:b', 'room:a']);
    await send(s, { id: 9, subscribe: { channel: 'room:b' } });
    expect(replyTo(t, 9).error?.code).toBe(105);
    for (const channel of ['room:a', 'room:b', 'room:c']) await node.publish(channel, enc.encode(`"${channel}"`));
    await flush();
    expect(
      t
        .pushes()
        .filter((p) => p.pub !== undefined)
        .map((p) => p.channel),
    ).toEqual(['room:a', 'room:b']);
    expect(node.info().numSubs).toBe(2);
  });

  it('processes commands in order again after its queue drained', async () => {
    const { connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:q' } });
    // Two frames in one turn after the queue had drained: replies keep command order.
    s.handleFrame(enc.encode('{"id":3,"history":{"channel":"room:q","limit":1}}'));
    s.handleFrame(enc.encode('{"id":4,"unsubscribe":{"channel":"room:q"}}\n{"id":5,"history":{"channel":"room:q"}}'));
    for (let i = 0; i < 8; i++) await flush();
    const ids = t
      .replies()
      .map((r) => r.id)
      .filter((id) => typeof id === 'number' && id >= 3);
    expect(ids).toEqual([3, 4, 5]);
    expect(replyTo(t, 5).error?.code).toBe(103);
  });

  it('sends unsubscribe 2500 when a positioned stream sees an offset gap', async () => {
    const { node, connect, send } = await setup();
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:gap', recoverable: true } });
    // Simulate a lost cross-node delivery: the node learns of offset 3 without 1 and 2.
    s.deliverPublication(
      'room:gap',
      { offset: 3, time: 0, data: enc.encode('3') },
      (replyTo(t, 2).subscribe as { epoch: string }).epoch,
      new EncodedPush({}),
    );
    await flush();
    expect(t.pushes()).toContainEqual({
      channel: 'room:gap',
      unsubscribe: { code: 2500, reason: 'insufficient state' },
    });
    expect(s.channels()).toEqual([]);
    expect(node.info().numSubs).toBe(0);
  });

  it('after a broker discontinuity, sends 2500 only to positioned subscribers that fell behind', async () => {
    let handler!: BrokerEventHandler;
    let drop = false;
    // A broker that loses deliveries while `drop` is set, like a pub/sub connection that was cut.
    const lossy = (inner: Broker): Broker =>
      wrapBroker(inner, {
        start: (h) => {
          handler = h;
          return inner.start({
            onPublication: (c, p, e) => {
              if (!drop) h.onPublication(c, p, e);
            },
            onJoin: (c, i) => h.onJoin(c, i),
            onLeave: (c, i) => h.onLeave(c, i),
          });
        },
      });
    const { node, connect, send } = await setup({ broker: lossy });
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'room:behind', recoverable: true } });
    await send(s, { id: 3, subscribe: { channel: 'room:uptodate', recoverable: true } });
    await node.publish('room:uptodate', enc.encode('1'));
    drop = true;
    await node.publish('room:behind', enc.encode('1'));
    await node.publish('room:behind', enc.encode('2'));
    drop = false;
    handler.onDiscontinuity?.(['room:behind', 'room:uptodate']);
    for (let i = 0; i < 5; i++) await flush();
    const unsubscribes = t.pushes().filter((p) => p.unsubscribe !== undefined);
    expect(unsubscribes).toEqual([
      { channel: 'room:behind', unsubscribe: { code: 2500, reason: 'insufficient state' } },
    ]);
    // The client resubscribes from its position and recovers what the broker lost.
    const epoch = (replyTo(t, 2).subscribe as { epoch: string }).epoch;
    await send(s, { id: 4, subscribe: { channel: 'room:behind', recover: true, epoch, offset: 0 } });
    const res = replyTo(t, 4).subscribe as { recovered: boolean; publications: Array<{ offset: number }> };
    expect(res.recovered).toBe(true);
    expect(res.publications.map((p) => p.offset)).toEqual([1, 2]);
  });

  it('is not ready while its broker reports it cannot reach the backend', async () => {
    let reachable = true;
    const { node } = await setup({
      broker: (inner) => wrapBroker(inner, { ready: () => reachable }),
    });
    expect(node.ready()).toBe(true);
    reachable = false;
    expect(node.ready()).toBe(false);
  });

  it('subscribes server-side channels from the token and reports them in connect', async () => {
    const { node, connect } = await setup();
    const { t } = await connect('alice||room:srv');
    const r = replyTo(t, 1) as { connect: { subs: Record<string, unknown> } };
    expect(Object.keys(r.connect.subs)).toEqual(['room:srv']);
    await node.publish('room:srv', enc.encode('1'));
    await flush();
    expect(t.pushes().some((p) => p.channel === 'room:srv' && p.pub !== undefined)).toBe(true);
  });

  it('stores a client publish repeated with the same idempotency key once, per user', async () => {
    const { node, connect, send } = await setup();
    const a = await connect('alice');
    const b = await connect('bob');
    await send(a.s, { id: 2, subscribe: { channel: 'room:idem' } });
    await send(b.s, { id: 2, subscribe: { channel: 'room:idem' } });
    await send(a.s, { id: 3, publish: { channel: 'room:idem', data: { n: 1 }, idempotency_key: 'k1' } });
    // The same publish sent again after a lost acknowledgement: answered OK, not stored again.
    await send(a.s, { id: 4, publish: { channel: 'room:idem', data: { n: 1 }, idempotency_key: 'k1' } });
    // Another user's key never meets alice's.
    await send(b.s, { id: 3, publish: { channel: 'room:idem', data: { n: 2 }, idempotency_key: 'k1' } });
    await send(a.s, { id: 5, publish: { channel: 'room:idem', data: { n: 3 } } });
    // An empty key is the protocol default, "not set": an ordinary publish.
    await send(a.s, { id: 6, publish: { channel: 'room:idem', data: { n: 4 }, idempotency_key: '' } });
    await send(a.s, { id: 7, publish: { channel: 'room:idem', data: 5, idempotency_key: 'x'.repeat(257) } });
    expect([3, 4, 5, 6].map((id) => replyTo(a.t, id).publish)).toEqual([{}, {}, {}, {}]);
    expect(replyTo(b.t, 3).publish).toEqual({});
    expect(replyTo(a.t, 7).error?.code).toBe(107);
    const read = await node.history('room:idem', { limit: 10 });
    expect(read.publications.map((p) => dec.decode(p.data))).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  });

  it('disconnects every session with 3001 on shutdown', async () => {
    const { node, connect } = await setup();
    const a = await connect('a');
    const b = await connect('b');
    await node.shutdown();
    expect([a.t.closed?.code, b.t.closed?.code]).toEqual([3001, 3001]);
  });
});
