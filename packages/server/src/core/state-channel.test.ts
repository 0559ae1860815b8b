import { clientError, type Disconnect, ErrorCode, jsonCodec, TidingsErrorCode } from '@tidings/protocol';
import { applyDelta } from 'fossil-delta';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { StateStore } from '../broker/types.js';
import { FakeClock } from '../internal/clock.js';
import type { Transport } from '../transport/types.js';
import type { NamespaceOptions } from './channel-options.js';
import { createNode, type TidingsNode } from './node.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed wire JSON, read loosely by the assertions
type Wire = any;

const enc = new TextEncoder();
const dec = new TextDecoder();

class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly unidirectional = false;
  readonly codec = jsonCodec;
  bufferedBytes = 0;
  frames: Uint8Array[] = [];
  closed: Disconnect | undefined;
  write(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
  replies(): Array<Record<string, Wire>> {
    return this.frames.flatMap((f) =>
      dec
        .decode(f)
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, Wire>),
    );
  }
  pubs(): Array<Record<string, Wire>> {
    return this.replies()
      .filter((r) => r.push?.pub !== undefined)
      .map((r) => r.push.pub);
  }
}

const authenticator: Authenticator = {
  async authenticate(req) {
    return { userId: req.token ?? '', anonymous: false, channels: [] };
  },
  async verifySubscriptionToken() {
    throw clientError(ErrorCode.Unauthorized);
  },
};

const base: Partial<NamespaceOptions> = { allowSubscribeForClient: true, state: true };
const flush = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function setup(
  namespaces: Record<string, Partial<NamespaceOptions>>,
  maxQueueBytes = 1 << 20,
  wrapState?: (store: StateStore, node: () => TidingsNode) => StateStore,
) {
  const clock = new FakeClock(Date.now());
  const engine = createMemoryEngine({ clock });
  let made: TidingsNode | undefined;
  const state = wrapState ? wrapState(engine.state, () => made!) : engine.state;
  const node = createNode({
    ...engine,
    state,
    authenticator,
    clock,
    channels: { namespaces },
    client: { maxQueueBytes },
  });
  made = node;
  await node.start();
  nodes.push(node);
  const connect = async () => {
    const t = new MemoryTransport();
    const s = node.openSession(t);
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: 'alice' } })));
    await flush();
    return { t, s };
  };
  const subscribe = async (s: ReturnType<typeof node.openSession>, sub: object) => {
    s.handleFrame(enc.encode(JSON.stringify({ id: 2, subscribe: sub })));
    await flush(12);
  };
  const pub = (channel: string, doc: unknown, tags?: Record<string, string>) =>
    node.publish(channel, enc.encode(JSON.stringify(doc)), tags === undefined ? {} : { tags });
  return { node, clock, connect, subscribe, pub };
}

describe('state channels', () => {
  it('keeps the latest document per key, applies merge patches, and answers state()', async () => {
    const { node, pub } = await setup({ st: base });
    await pub('st:prices', { bid: 1, ask: 2 }, { key: 'AAPL' });
    await pub('st:prices', { bid: 5, ask: 6 }, { key: 'MSFT' });
    await pub('st:prices', { ask: 3, note: 'x' }, { key: 'AAPL', patch: 'merge' });
    await pub('st:prices', { note: null }, { key: 'AAPL', patch: 'merge' });
    const all = await node.state('st:prices');
    expect(all.map((e) => [e.key, e.offset, JSON.parse(dec.decode(e.data))])).toEqual([
      ['MSFT', 2, { bid: 5, ask: 6 }],
      ['AAPL', 4, { bid: 1, ask: 3 }],
    ]);
    expect((await node.state('st:prices', 'MSFT'))[0]?.offset).toBe(2);
    expect(await node.state('st:prices', 'none')).toEqual([]);
  });

  it('refuses non-JSON data and unknown patch kinds with 107, and non-state channels with 108', async () => {
    const { node, pub } = await setup({ st: base, plain: { allowSubscribeForClient: true } });
    await expect(node.publish('st:a', enc.encode('not json'))).rejects.toMatchObject({ wireCode: 107 });
    await expect(pub('st:a', {}, { patch: 'json-patch' })).rejects.toMatchObject({ wireCode: 107 });
    await expect(node.state('plain:a')).rejects.toMatchObject({ wireCode: 108 });
  });

  it('a node refuses a state namespace without a state store', () => {
    const engine = createMemoryEngine();
    expect(() =>
      createNode({
        broker: engine.broker,
        history: engine.history,
        presence: engine.presence,
        authenticator,
        channels: { namespaces: { st: base } },
      }),
    ).toThrow(expect.objectContaining({ code: TidingsErrorCode.Config }));
  });

  it('a subscriber gets the snapshot with its position, then whole documents (merged) live', async () => {
    const { connect, subscribe, pub } = await setup({ st: base });
    await pub('st:dev', { t: 20, h: 50 }, { key: 'd1' });
    await pub('st:dev', { t: 30 }, { key: 'd2' });
    await pub('st:dev', { t: 21 }, { key: 'd1', patch: 'merge' });
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:dev' });
    const reply = t.replies().find((r) => r.id === 2)!.subscribe;
    expect(reply.offset).toBe(3);
    expect(reply.positioned).toBe(true);
    expect(reply.publications).toEqual([
      { data: { t: 30 }, tags: { key: 'd2' }, offset: 2, time: expect.any(Number) },
      { data: { t: 21, h: 50 }, tags: { key: 'd1' }, offset: 3, time: expect.any(Number) },
    ]);
    await pub('st:dev', { h: 55 }, { key: 'd1', patch: 'merge' });
    await flush();
    expect(t.pubs().map((p) => [p.offset, p.tags, p.data])).toEqual([[4, { key: 'd1' }, { t: 21, h: 55 }]]);
  });

  it('a publication that lands while the snapshot is read is sent once, by the snapshot', async () => {
    let raced = false;
    const { connect, subscribe, pub } = await setup({ st: base }, 1 << 20, (store, node) => ({
      put: (c, e, t) => store.put(c, e, t),
      get: (c, k) => store.get(c, k),
      remove: (c, k) => store.remove(c, k),
      close: () => store.close(),
      snapshot: async (c) => {
        if (!raced) {
          raced = true;
          // After the top was read, before the snapshot: this one is both buffered and in the snapshot.
          await node().publish(c, enc.encode('{"v":2}'), { tags: { key: 'a' } });
          await node().publish(c, enc.encode('{"w":1}'), { tags: { key: 'b' } });
        }
        return store.snapshot(c);
      },
    }));
    await pub('st:race', { v: 1 }, { key: 'a' });
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:race' });
    const reply = t.replies().find((r) => r.id === 2)!.subscribe;
    expect(reply.offset).toBe(1);
    expect(reply.publications.map((p: Wire) => [p.offset, p.data])).toEqual([
      [1, { v: 2 }],
      [1, { w: 1 }],
    ]);
    expect(t.pubs()).toEqual([]);
    await pub('st:race', { v: 3 }, { key: 'a' });
    await flush();
    expect(t.pubs().map((p) => [p.offset, p.data])).toEqual([[4, { v: 3 }]]);
  });

  it('caps a subscriber at its max rate: latest per key, each key at most once a window', async () => {
    const { connect, subscribe, pub, clock } = await setup({ st: { ...base, maxRate: 10 } });
    const { t, s } = await connect();
    // Asks for 5/s (under the namespace cap of 10).
    await subscribe(s, { channel: 'st:q', data: { maxRate: 5 } });
    for (let i = 1; i <= 30; i++) await pub('st:q', { v: i }, { key: `k${i % 3}` });
    await flush();
    // The first went at once; the rest are held, one per key.
    expect(t.pubs().map((p) => p.data.v)).toEqual([1]);
    clock.advance(200);
    await flush();
    expect(t.pubs().map((p) => p.data.v)).toEqual([1, 28, 29, 30]);
    await pub('st:q', { v: 31 }, { key: 'k1' });
    await pub('st:q', { v: 32 }, { key: 'k1' });
    clock.advance(100);
    await flush();
    expect(t.pubs().length).toBe(4);
    clock.advance(100);
    await flush();
    expect(t.pubs().map((p) => p.data.v)).toEqual([1, 28, 29, 30, 32]);
  });

  it('never gives more than the namespace cap, whatever the subscriber asks', async () => {
    const { connect, subscribe, pub, clock } = await setup({ st: { ...base, maxRate: 2 } });
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:q', data: { maxRate: 100 } });
    for (let i = 1; i <= 5; i++) await pub('st:q', { v: i });
    clock.advance(250);
    await flush();
    expect(t.pubs().map((p) => p.data.v)).toEqual([1]);
    clock.advance(250);
    await flush();
    expect(t.pubs().map((p) => p.data.v)).toEqual([1, 5]);
  });

  it('sends fossil deltas against what this subscriber was last sent, as JSON strings', async () => {
    const { connect, subscribe, pub, clock } = await setup({ st: { ...base, allowDelta: true, maxRate: 5 } });
    const doc = (v: number) => ({ id: 'sensor-1', name: 'a long enough name to make a delta pay', v, unit: 'C' });
    await pub('st:d', doc(0));
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:d', delta: 'fossil' });
    const reply = t.replies().find((r) => r.id === 2)!.subscribe;
    expect(reply.delta).toBe(true);
    expect(typeof reply.publications[0].data).toBe('string');
    let last = enc.encode(reply.publications[0].data as string);
    clock.advance(1000);
    // 1 goes at once, 2 and 3 conflate to 3: the delta of 3 is against 1, what was sent.
    for (const v of [1, 2, 3]) await pub('st:d', doc(v));
    clock.advance(200);
    await flush();
    const got = t.pubs();
    expect(got.map((p) => p.delta === true)).toEqual([true, true]);
    const decoded = got.map((p) => {
      last = applyDelta(last, enc.encode(p.data as string));
      return JSON.parse(dec.decode(last));
    });
    expect(decoded).toEqual([doc(1), doc(3)]);
    expect((got[0]!.data as string).length).toBeLessThan(JSON.stringify(doc(1)).length);
  });

  it('skip: drops while the queue is past half full, then a gap marker before the next', async () => {
    const { connect, subscribe, pub } = await setup({ st: { ...base, slowConsumer: 'skip' } }, 2000);
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:g' });
    t.bufferedBytes = 1500;
    for (let i = 1; i <= 4; i++) await pub('st:g', { v: i });
    t.bufferedBytes = 0;
    await pub('st:g', { v: 5 });
    await flush();
    expect(t.closed).toBeUndefined();
    expect(t.pubs().map((p) => [p.offset, p.tags ?? null, p.data])).toEqual([
      [4, { gap: '4' }, null],
      [5, null, { v: 5 }],
    ]);
  });

  it('conflate: holds the latest per key while the queue is past half full', async () => {
    const { connect, subscribe, pub, clock } = await setup({ st: { ...base, slowConsumer: 'conflate' } }, 2000);
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:c' });
    t.bufferedBytes = 1500;
    for (let i = 1; i <= 4; i++) await pub('st:c', { v: i }, { key: i % 2 ? 'odd' : 'even' });
    clock.advance(500);
    await flush();
    expect(t.pubs()).toEqual([]);
    t.bufferedBytes = 0;
    clock.advance(50);
    await flush();
    expect(t.closed).toBeUndefined();
    expect(t.pubs().map((p) => p.data.v)).toEqual([3, 4]);
  });

  it('disconnect (default): a slow state subscriber is closed with 3008', async () => {
    const { connect, subscribe, pub } = await setup({ st: base }, 2000);
    const { t, s } = await connect();
    await subscribe(s, { channel: 'st:x' });
    t.bufferedBytes = 1990;
    await pub('st:x', { v: 'x'.repeat(100) });
    await flush();
    expect(t.closed?.code).toBe(3008);
  });
});
