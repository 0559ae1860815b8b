import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { silentLogger } from '../observability/logger.js';
import { type NodeAnnouncement, NodeRegistry } from './node-registry.js';

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
