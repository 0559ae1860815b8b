import { describe, expect, it } from 'vitest';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { Broker } from '../broker/types.js';
import { FakeClock } from '../internal/clock.js';
import { silentLogger } from '../observability/logger.js';
import { createNode } from './node.js';
import { type NodeAnnouncement, NodeRegistry, nodesChannel } from './node-registry.js';

const enc = new TextEncoder();

function info(id: string, name = id): NodeAnnouncement {
  return { id, name, version: '1', uptimeSeconds: 0, numClients: 0, numUsers: 0, numSubs: 0, numChannels: 0 };
}

/** Registries wired to one fake "engine" that delivers every announcement to all of them. */
function cluster(names: string[], clock: FakeClock) {
  const registries: NodeRegistry[] = [];
  let sent = 0;
  for (const name of names) {
    registries.push(
      new NodeRegistry({
        self: () => info(name),
        publish: async (data) => {
          sent++;
          for (const r of registries) r.received(data);
        },
        clock,
        intervalMs: 1_000,
        logger: silentLogger,
      }),
    );
  }
  return { registries, sent: () => sent };
}

describe('NodeRegistry', () => {
  it('learns the other nodes, this one first, and a joining node hears of the others at once', () => {
    const clock = new FakeClock(0);
    const { registries, sent } = cluster(['b', 'a', 'c'], clock);
    for (const r of registries) r.start();
    expect(registries[0]!.nodes().map((n) => n.name)).toEqual(['b', 'a', 'c']);
    expect(registries[2]!.nodes().map((n) => n.name)).toEqual(['c', 'a', 'b']);
    // 3 start announcements plus at most two answers per pair that met for the first time.
    expect(sent()).toBeLessThanOrEqual(9);
  });

  it('drops a node unheard for three intervals', () => {
    const clock = new FakeClock(0);
    const { registries } = cluster(['a', 'b'], clock);
    registries[0]!.start();
    registries[1]!.start();
    registries[1]!.stop();
    clock.advance(2_500);
    expect(registries[0]!.nodes().map((n) => n.name)).toEqual(['a', 'b']);
    clock.advance(1_000);
    expect(registries[0]!.nodes().map((n) => n.name)).toEqual(['a']);
  });

  it('ignores malformed announcements', () => {
    const clock = new FakeClock(0);
    const r = new NodeRegistry({
      self: () => info('self'),
      publish: async () => undefined,
      clock,
      intervalMs: 1_000,
      logger: silentLogger,
    });
    r.received(enc.encode('not json'));
    r.received(enc.encode('{"id":5}'));
    r.received(enc.encode(JSON.stringify(info('other'))));
    expect(r.nodes().map((n) => n.id)).toEqual(['self', 'other']);
  });
});

describe('node announcements through the engine', () => {
  it('retries listening to the announcements channel when the engine refused it at start', async () => {
    const clock = new FakeClock(0);
    const engine = createMemoryEngine({ clock });
    const subscribed: string[][] = [];
    let refuse = true;
    const broker: Broker = {
      start: (h) => engine.broker.start(h),
      subscribe: async (chs) => {
        subscribed.push([...chs]);
        if (refuse) throw new Error('engine down');
        return engine.broker.subscribe(chs);
      },
      unsubscribe: (chs) => engine.broker.unsubscribe(chs),
      publish: (ch, d, o) => engine.broker.publish(ch, d, o),
      publishJoin: (ch, i) => engine.broker.publishJoin(ch, i),
      publishLeave: (ch, i) => engine.broker.publishLeave(ch, i),
      close: () => engine.broker.close(),
    };
    const node = createNode({
      ...engine,
      broker,
      clock,
      announceIntervalMs: 1_000,
      authenticator: {
        authenticate: async () => ({ userId: '', anonymous: true, channels: [] }),
        verifySubscriptionToken: async () => {
          throw new Error('unused');
        },
      },
    });
    await node.start();
    await new Promise((r) => setImmediate(r));
    // At start, and again before the first announcement: both refused.
    expect(subscribed).toHaveLength(2);
    refuse = false;
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    expect(subscribed).toHaveLength(3);
    // Listening now: later announcements do not subscribe again.
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    expect(subscribed).toHaveLength(3);
    expect(subscribed.flat().every((ch) => ch === nodesChannel)).toBe(true);
    expect(node.nodes().map((n) => n.id)).toEqual([node.id]);
    await node.shutdown();
  });
});
