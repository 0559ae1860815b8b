import { isTidingsError } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { Broker, StreamPublication } from '../broker/types.js';
import type { EncodedPush } from './encoded-push.js';
import type { HubPatternSubscriber } from './hub.js';
import { createNode, type TidingsNode } from './node.js';

const authenticator: Authenticator = {
  async authenticate() {
    return { userId: '', anonymous: true, channels: [] };
  },
  async verifySubscriptionToken() {
    throw new Error('no subscription tokens here');
  },
};

class Receiver implements HubPatternSubscriber {
  readonly got: Array<[string, number]> = [];
  readonly pushes = new Set<EncodedPush>();
  discontinuities = 0;
  deliverPatternPublication(channel: string, pub: StreamPublication, _epoch: string, encoded: EncodedPush): void {
    this.got.push([channel, pub.offset]);
    this.pushes.add(encoded);
  }
  patternDiscontinuity(): void {
    this.discontinuities++;
  }
}

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function start(broker?: Broker, announceIntervalMs?: number): Promise<TidingsNode> {
  const engine = createMemoryEngine();
  const node = createNode({
    ...engine,
    ...(broker !== undefined ? { broker } : {}),
    authenticator,
    ...(announceIntervalMs !== undefined ? { announceIntervalMs } : {}),
    channels: { namespaces: { s: { historySize: 10, historyTtlMs: 60_000 }, t: {} } },
  });
  await node.start();
  nodes.push(node);
  return node;
}

const data = new Uint8Array([1]);
const codeOf = (e: unknown) => (isTidingsError(e) ? e.wireCode : e);

describe('node.subscribePattern', () => {
  it('delivers each matching publication once per subscriber, sharing one encoded push, until closed', async () => {
    const node = await start();
    const a = new Receiver();
    const b = new Receiver();
    const subA = await node.subscribePattern(['s', '+', 'temp'], a);
    const subA2 = await node.subscribePattern(['s', '#'], a);
    await node.subscribePattern(['#'], b);
    expect(subA.prefix).toBe('s:');
    await node.publish('s:dock/temp', data);
    await node.publish('s:dock/hum', data);
    await node.publish('t:dock/temp', data);
    expect(a.got).toEqual([
      ['s:dock/temp', 1],
      ['s:dock/hum', 1],
    ]);
    expect(b.got.map(([c]) => c)).toEqual(['s:dock/temp', 's:dock/hum', 't:dock/temp']);
    // One EncodedPush per publication, shared by every receiver.
    expect([...a.pushes].every((p) => b.pushes.has(p))).toBe(true);
    subA.close();
    subA2.close();
    subA2.close();
    await node.publish('s:dock/temp', data);
    expect(a.got).toHaveLength(2);
    expect(b.got).toHaveLength(4);
  });

  it('never delivers the node announcements, whose first level starts with `$`', async () => {
    const node = await start(undefined, 10);
    const r = new Receiver();
    await node.subscribePattern(['#'], r);
    await node.subscribePattern(['$tidings', '#'], r);
    // Several announcements go out meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 60));
    await node.publish('s:x', data);
    expect(r.got.map(([c]) => c)).toEqual(['s:x']);
  });

  it('refuses a malformed pattern with 107 and an engine without prefixes with 108', async () => {
    const node = await start();
    await expect(node.subscribePattern(['s', '#', 'x'], new Receiver()).catch(codeOf)).resolves.toBe(107);
    const engine = createMemoryEngine();
    const plain: Broker = {
      start: (h) => engine.broker.start(h),
      subscribe: (c) => engine.broker.subscribe(c),
      unsubscribe: (c) => engine.broker.unsubscribe(c),
      publish: (c, d, o) => engine.broker.publish(c, d, o),
      publishJoin: (c, i) => engine.broker.publishJoin(c, i),
      publishLeave: (c, i) => engine.broker.publishLeave(c, i),
      close: () => engine.broker.close(),
    };
    const without = await start(plain);
    expect(without.patternsAvailable).toBe(false);
    await expect(without.subscribePattern(['s', '#'], new Receiver()).catch(codeOf)).resolves.toBe(108);
  });

  it('lists the existing channels a pattern matches', async () => {
    const node = await start();
    for (const ch of ['s:a/temp', 's:b/temp', 's:b/hum', 't:a/temp']) await node.publish(ch, data);
    expect((await node.patternChannels(['s', '+', 'temp'], 100)).sort()).toEqual(['s:a/temp', 's:b/temp']);
    expect((await node.patternChannels(['+', 'a', '#'], 100)).sort()).toEqual(['s:a/temp', 't:a/temp']);
  });
});
