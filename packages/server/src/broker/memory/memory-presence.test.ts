import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../internal/clock.js';
import { createMemoryEngine } from './memory-engine.js';
import { MemoryPresence } from './memory-presence.js';

let clock: FakeClock;
let presence: MemoryPresence;

function setup(): MemoryPresence {
  clock = new FakeClock();
  presence = new MemoryPresence({ clock, sweepIntervalMs: 1000 });
  return presence;
}

afterEach(async () => {
  await presence.close();
});

describe('MemoryPresence', () => {
  it('adds, lists, counts unique users and removes', async () => {
    setup();
    await presence.add('ch', 'c1', { user: 'u1', client: 'c1' }, 10_000);
    await presence.add('ch', 'c2', { user: 'u1', client: 'c2' }, 10_000);
    await presence.add('ch', 'c3', { user: 'u2', client: 'c3' }, 10_000);
    expect(Object.keys(await presence.get('ch')).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(await presence.stats('ch')).toEqual({ numClients: 3, numUsers: 2 });
    await presence.remove('ch', 'c1');
    expect(await presence.stats('ch')).toEqual({ numClients: 2, numUsers: 2 });
    await presence.remove('ch', 'nobody');
    expect(await presence.get('other')).toEqual({});
  });

  it('expires entries that were not refreshed', async () => {
    setup();
    await presence.add('ch', 'c1', { user: 'u1', client: 'c1' }, 1000);
    await presence.add('ch', 'c2', { user: 'u2', client: 'c2' }, 1000);
    clock.advance(600);
    await presence.add('ch', 'c2', { user: 'u2', client: 'c2' }, 1000);
    clock.advance(400);
    expect(await presence.get('ch')).toEqual({ c2: { user: 'u2', client: 'c2' } });
    expect(await presence.stats('ch')).toEqual({ numClients: 1, numUsers: 1 });
    clock.advance(600);
    expect(await presence.stats('ch')).toEqual({ numClients: 0, numUsers: 0 });
  });

  it('sweeps expired channels without being read', async () => {
    setup();
    for (let i = 0; i < 30; i++) await presence.add(`ch${i}`, 'c', { user: 'u', client: 'c' }, 500);
    await presence.add('kept', 'c', { user: 'u', client: 'c' }, 60_000);
    expect(presence.channelCount).toBe(31);
    clock.advance(1000);
    expect(presence.channelCount).toBe(1);
  });

  it('rejects reads and adds after close, ignores removes', async () => {
    setup();
    await presence.close();
    await expect(presence.add('ch', 'c', { user: 'u', client: 'c' }, 1000)).rejects.toThrow(/closed/);
    await expect(presence.stats('ch')).rejects.toThrow(/closed/);
    await expect(presence.remove('ch', 'c')).resolves.toBeUndefined();
  });
});

describe('createMemoryEngine', () => {
  it('returns one broker that is also the history store, and a presence store', async () => {
    const engine = createMemoryEngine({ clock: new FakeClock() });
    presence = engine.presence;
    expect(engine.history).toBe(engine.broker);
    const r = await engine.broker.publish('ch', new Uint8Array([1]), { history: { size: 1, ttlMs: 1000 } });
    expect((await engine.history.history('ch', { limit: 1 })).publications[0]?.offset).toBe(r.offset);
    await engine.broker.close();
  });
});
