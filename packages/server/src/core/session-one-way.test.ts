import { type Disconnect, jsonCodec, type Reply } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import { FakeClock } from '../internal/clock.js';
import type { Transport } from '../transport/types.js';
import { EncodedPush } from './encoded-push.js';
import { createNode, type TidingsNode } from './node.js';

/** A one-way transport that records replies (JSON codec, so they can be read back). */
class OneWayMemoryTransport implements Transport {
  readonly name = 'one-way-memory';
  readonly unidirectional = true;
  readonly codec = jsonCodec;
  readonly bufferedBytes = 0;
  readonly replies: Reply[] = [];
  closed: Disconnect | undefined;
  write(frame: Uint8Array): void {
    this.replies.push(...jsonCodec.decodeReplies(frame));
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
}

const anonymous: Authenticator = {
  authenticate: async () => ({ userId: '', anonymous: true, channels: [] }),
  verifySubscriptionToken: async () => ({}),
};

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

async function connected(clock: FakeClock) {
  const node = createNode({
    ...createMemoryEngine({ clock }),
    authenticator: anonymous,
    clock,
    channels: {
      namespaces: {
        room: { historySize: 10, historyTtlMs: 60_000, allowRecovery: true, allowSubscribeForAnonymous: true },
      },
    },
    client: { pingIntervalMs: 10_000, pongTimeoutMs: 3_000 },
  });
  await node.start();
  nodes.push(node);
  const t = new OneWayMemoryTransport();
  const s = node.openSession(t);
  s.handleCommands([
    { id: 1, connect: {} },
    { id: 2, subscribe: { channel: 'room:a', recoverable: true } },
  ]);
  await flush();
  return { node, t, s };
}

describe('Session over a one-way transport', () => {
  it('asks for no pongs and never closes for a missing one', async () => {
    const clock = new FakeClock();
    const { t, s } = await connected(clock);
    expect(t.replies[0]?.connect?.pong).toBeUndefined();
    expect(t.replies[0]?.connect?.ping).toBeUndefined();
    clock.advance(60_000);
    expect(t.closed).toBeUndefined();
    expect(s.state).toBe('connected');
    expect(s.unidirectional).toBe(true);
  });

  it('closes with 3010 on an offset gap, so the client resumes from its cursor', async () => {
    const clock = new FakeClock();
    const { t, s } = await connected(clock);
    const epoch = t.replies.find((r) => r.id === 2)?.subscribe?.epoch ?? '';
    s.deliverPublication('room:a', { offset: 3, time: 0, data: new Uint8Array([0x31]) }, epoch, new EncodedPush({}));
    expect(t.closed?.code).toBe(3010);
    expect(s.state).toBe('closed');
  });
});
