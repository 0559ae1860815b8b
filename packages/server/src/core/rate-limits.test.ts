import { type Disconnect, jsonCodec } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import { FakeClock } from '../internal/clock.js';
import { KeyedTokenBuckets } from '../internal/token-bucket.js';
import { MetricsRecorder } from '../observability/metrics-recorder.js';
import type { Transport } from '../transport/types.js';
import { createNode, type TidingsNode } from './node.js';
import type { ClientOptions } from './options.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

class Recorder implements Transport {
  readonly name = 'memory';
  readonly unidirectional = false;
  readonly codec = jsonCodec;
  bufferedBytes = 0;
  readonly lines: Array<{ id?: number; error?: { code: number } }> = [];
  closed: Disconnect | undefined;
  write(frame: Uint8Array): void {
    for (const l of dec.decode(frame).split('\n')) if (l !== '') this.lines.push(JSON.parse(l));
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
  errorsOf(code: number): number {
    return this.lines.filter((l) => l.error?.code === code).length;
  }
}

const authenticator: Authenticator = {
  async authenticate(req) {
    return { userId: req.token ?? '', anonymous: false, channels: [] };
  },
  async verifySubscriptionToken() {
    return {};
  },
};

const flush = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function setup(client: Partial<ClientOptions>, metrics?: MetricsRecorder) {
  const clock = new FakeClock(1_000_000);
  const engine = createMemoryEngine({ clock });
  const node = createNode({
    ...engine,
    authenticator,
    clock,
    ...(metrics === undefined ? {} : { metrics }),
    channels: { namespaces: { room: { allowPublishForClient: true } } },
    client,
  });
  await node.start();
  nodes.push(node);
  const connect = async (user: string, ip = '10.0.0.1') => {
    const t = new Recorder();
    const s = node.openSession(t, { remoteAddress: ip });
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: user } })));
    await flush();
    return { t, s };
  };
  const pings = async (s: { handleFrame(b: Uint8Array): void }, n: number, from = 2) => {
    const cmds = Array.from({ length: n }, (_, i) => JSON.stringify({ id: from + i, ping: {} }));
    s.handleFrame(enc.encode(cmds.join('\n')));
    await flush();
  };
  return { clock, connect, pings };
}

describe('rate limits (token buckets, 111 too many requests)', () => {
  it('per connection: commands past the burst answer 111, the session stays open, tokens refill', async () => {
    const h = await setup({ commandRatePerConnection: 10 });
    const { t, s } = await h.connect('alice');
    await h.pings(s, 15);
    expect(t.errorsOf(111)).toBe(5);
    expect(t.closed).toBeUndefined();
    h.clock.advance(500);
    await h.pings(s, 6, 100);
    expect(t.errorsOf(111)).toBe(6);
  });

  it('per user: two connections of one user share a bucket; another user is not affected', async () => {
    const h = await setup({ commandRatePerUser: 10, commandRatePerConnection: 0 });
    const a1 = await h.connect('alice');
    const a2 = await h.connect('alice');
    const bob = await h.connect('bob');
    await h.pings(a1.s, 8);
    await h.pings(a2.s, 8);
    await h.pings(bob.s, 8);
    expect(a1.t.errorsOf(111) + a2.t.errorsOf(111)).toBe(6);
    expect(bob.t.errorsOf(111)).toBe(0);
  });

  it('per IP: connections from one address share a bucket', async () => {
    const h = await setup({ commandRatePerIp: 5, commandRatePerConnection: 0 });
    const a = await h.connect('alice', '10.0.0.9');
    const b = await h.connect('bob', '10.0.0.9');
    const c = await h.connect('carol', '10.0.0.10');
    await h.pings(a.s, 4);
    await h.pings(b.s, 4);
    await h.pings(c.s, 4);
    expect(a.t.errorsOf(111) + b.t.errorsOf(111)).toBe(3);
    expect(c.t.errorsOf(111)).toBe(0);
  });

  it('publishes have their own limit: a publish past it answers 111 and is not stored', async () => {
    const h = await setup({ publishRatePerConnection: 2, commandRatePerConnection: 0 });
    const { t, s } = await h.connect('alice');
    const pubs = [2, 3, 4].map((id) => JSON.stringify({ id, publish: { channel: 'room:a', data: { n: id } } }));
    s.handleFrame(enc.encode(pubs.join('\n')));
    await flush();
    expect(t.errorsOf(111)).toBe(1);
    await h.pings(s, 5, 10);
    expect(t.errorsOf(111)).toBe(1);
  });

  it('rates must be non-negative numbers (0 = off)', async () => {
    await expect(setup({ commandRatePerIp: -1 })).rejects.toThrow(/client.commandRatePerIp/);
  });
});

describe('KeyedTokenBuckets', () => {
  it('stays within maxKeys, forgetting refilled buckets first', () => {
    const clock = new FakeClock(0);
    const buckets = new KeyedTokenBuckets(clock, 1, 1, 100);
    for (let i = 0; i < 1000; i++) buckets.take(`ip-${i}`);
    expect(buckets.size).toBeLessThanOrEqual(100);
    clock.advance(2000);
    buckets.take('fresh');
    expect(buckets.size).toBe(1);
  });
});

describe('connection limits (3504)', () => {
  it('per user and per IP: the connect past the bound closes with 3504; closing one frees a slot', async () => {
    const h = await setup({ maxConnectionsPerUser: 2, maxConnectionsPerIp: 3 });
    const a1 = await h.connect('alice', '10.0.0.1');
    const a2 = await h.connect('alice', '10.0.0.2');
    const a3 = await h.connect('alice', '10.0.0.3');
    expect([a1.t.closed, a2.t.closed]).toEqual([undefined, undefined]);
    expect(a3.t.closed?.code).toBe(3504);
    const b = await h.connect('bob', '10.0.0.1');
    const c = await h.connect('carol', '10.0.0.1');
    const d = await h.connect('dave', '10.0.0.1');
    expect(b.t.closed).toBeUndefined();
    expect(c.t.closed).toBeUndefined();
    expect(d.t.closed?.code).toBe(3504);
    a1.s.close({ code: 3000, reason: 'bye' });
    const a4 = await h.connect('alice', '10.0.0.4');
    expect(a4.t.closed).toBeUndefined();
  });
});

describe('limit refusals in the metrics', () => {
  it('counts each refusal once, against the limit and scope that refused it', async () => {
    const metrics = new MetricsRecorder();
    const { connect, pings } = await setup(
      { commandRatePerConnection: 5, publishRatePerUser: 2, maxConnectionsPerIp: 2 },
      metrics,
    );
    const a = await connect('alice', '10.0.0.7');
    // A burst of 5 (connect is not counted): of 10 pings, 5 run and 5 are refused.
    await pings(a.s, 10);
    expect(a.t.errorsOf(111)).toBe(5);
    const b = await connect('bob', '10.0.0.8');
    const publish = (id: number) => JSON.stringify({ id, publish: { channel: 'room:r', data: { n: id } } });
    b.s.handleFrame(enc.encode([2, 3, 4].map(publish).join('\n')));
    await flush();
    expect(b.t.errorsOf(111)).toBe(1);
    await connect('carol', '10.0.0.7');
    const refused = await connect('dave', '10.0.0.7');
    expect(refused.t.closed?.code).toBe(3504);
    expect(Object.fromEntries(metrics.limits)).toEqual({
      'command_rate\u0000connection': 5,
      'publish_rate\u0000user': 1,
      'connections\u0000ip': 1,
    });
  });
});
