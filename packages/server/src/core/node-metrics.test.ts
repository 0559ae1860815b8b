import { type Codec, type Disconnect, jsonCodec } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import { FakeClock } from '../internal/clock.js';
import { MetricsRecorder, splitDisconnectKey } from '../observability/metrics-recorder.js';
import type { Transport } from '../transport/types.js';
import { createNode, type TidingsNode } from './node.js';

const enc = new TextEncoder();

class CountingTransport implements Transport {
  readonly unidirectional = false;
  readonly codec: Codec = jsonCodec;
  bufferedBytes = 0;
  written = 0;
  closed: Disconnect | undefined;
  constructor(readonly name: string) {}
  write(frame: Uint8Array): void {
    this.written += frame.byteLength;
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
}

const authenticator: Authenticator = {
  async authenticate(req) {
    if (req.token === 'bad') throw new Error('bad token');
    return { userId: req.token ?? '', anonymous: false, channels: [] };
  },
  async verifySubscriptionToken() {
    throw new Error('unused');
  },
};

const turn = () => new Promise((r) => setImmediate(r));
const settle = async () => {
  for (let i = 0; i < 6; i++) await turn();
};
const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function setup(clock = new FakeClock(1_000_000)) {
  const metrics = new MetricsRecorder();
  const engine = createMemoryEngine({ clock });
  const node = createNode({
    ...engine,
    authenticator,
    clock,
    metrics,
    channels: {
      namespaces: {
        room: {
          historySize: 10,
          historyTtlMs: 60_000,
          allowRecovery: true,
          allowSubscribeForClient: true,
          allowPublishForClient: true,
        },
      },
    },
  });
  await node.start();
  nodes.push(node);
  const connect = async (transport: string, user = 'u') => {
    const t = new CountingTransport(transport);
    const s = node.openSession(t);
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: user } })));
    await settle();
    return { t, s };
  };
  const send = async (s: { handleFrame(b: Uint8Array): void }, cmd: object) => {
    s.handleFrame(enc.encode(JSON.stringify(cmd)));
    await settle();
  };
  return { node, metrics, clock, connect, send };
}

describe('node metrics', () => {
  it('counts publications by source, deliveries and bytes per transport, exactly', async () => {
    const { node, metrics, connect, send } = await setup();
    const a = await connect('websocket');
    const b = await connect('sse');
    const c = await connect('sse');
    for (const [i, x] of [a, b, c].entries()) await send(x.s, { id: 2 + i, subscribe: { channel: 'room:1' } });
    const before = new Map([...metrics.transports].map(([k, v]) => [k, v.bytes]));
    for (let i = 0; i < 4; i++) await node.publish('room:1', enc.encode(`{"n":${i}}`));
    await send(a.s, { id: 9, publish: { channel: 'room:1', data: { n: 9 } } });
    expect(metrics.publications.get('api')).toBe(4);
    expect(metrics.publications.get('client')).toBe(1);
    expect(metrics.transports.get('websocket')?.deliveries).toBe(5);
    expect(metrics.transports.get('sse')?.deliveries).toBe(10);
    // Bytes are everything flushed, replies included: they grow with every delivery.
    expect(metrics.transports.get('sse')!.bytes).toBeGreaterThan(before.get('sse')!);
    expect(metrics.transports.get('websocket')?.latency.count).toBe(5);
    const stats = node.sessionStats();
    expect(stats).toContainEqual({ transport: 'sse', codec: 'json', connections: 2, subscriptions: 2, queuedBytes: 0 });
    expect(metrics.engine.get('publish')?.latency.count).toBe(5);
    expect(metrics.engine.get('publish')?.errors).toBe(0);
  });

  it('records latency from engine acceptance to the flush', async () => {
    const clock = new FakeClock(5_000_000);
    const { node, metrics, connect, send } = await setup(clock);
    const a = await connect('websocket');
    await send(a.s, { id: 2, subscribe: { channel: 'room:1' } });
    const pub = node.publish('room:1', enc.encode('{}'));
    // The engine stamped the publication; the flush happens 300 ms of clock time later.
    clock.advance(300);
    await pub;
    await settle();
    const h = metrics.transports.get('websocket')!.latency;
    expect(h.count).toBe(1);
    expect(h.sum).toBe(300);
  });

  it('counts disconnects by code and recovery outcomes by reason', async () => {
    const { node, metrics, connect, send } = await setup();
    const bad = await connect('websocket', 'bad');
    expect(bad.t.closed?.code).toBe(3500);
    const peer = await connect('sse');
    peer.s.transportClosed();
    for (let i = 0; i < 3; i++) await node.publish('room:r', enc.encode('{}'));
    const top = await node.history('room:r', { limit: 0 });
    const r = await connect('websocket');
    await send(r.s, { id: 2, subscribe: { channel: 'room:r', recover: true, offset: 1, epoch: top.epoch } });
    await send(r.s, { id: 3, subscribe: { channel: 'room:x', recover: true, offset: 0, epoch: 'gone' } });
    await node.shutdown();
    const codes = [...metrics.disconnects].map(([k, n]) => ({ ...splitDisconnectKey(k), n }));
    expect(codes).toContainEqual({ transport: 'websocket', code: '3500', n: 1 });
    expect(codes).toContainEqual({ transport: 'sse', code: 'peer', n: 1 });
    expect(codes).toContainEqual({ transport: 'websocket', code: '3001', n: 1 });
    expect(metrics.recoveries.get('recovered')).toBe(1);
    expect(metrics.recoveries.get('epoch_changed')).toBe(1);
  });
});
