import type { ClientInfo } from '@tidings/protocol';
import { expect, it } from 'vitest';
import { comparableInfo, type EngineUnderTest, sleep, uniqueChannel, utf8 } from './engine-harness.js';

const info = (user: string, client: string): ClientInfo => ({ user, client, connInfo: utf8(`{"u":"${user}"}`) });

const comparable = (entries: Record<string, ClientInfo>) =>
  Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, comparableInfo(v)]));

/**
 * The presence part of `runBrokerConformance`, registered inside its `describe`. Expiry uses
 * real time (`ttlMs`), since external engines cannot follow a fake clock.
 */
export function presenceConformance(open: () => Promise<EngineUnderTest>, ttlMs: number): void {
  it('presence: add, get, stats (unique users) and remove', async () => {
    const { presence } = await open();
    const ch = uniqueChannel('presence');
    await presence.add(ch, 'c1', info('u1', 'c1'), 60_000);
    await presence.add(ch, 'c2', info('u1', 'c2'), 60_000);
    await presence.add(ch, 'c3', info('u2', 'c3'), 60_000);
    expect(comparable(await presence.get(ch))).toEqual(
      comparable({ c1: info('u1', 'c1'), c2: info('u1', 'c2'), c3: info('u2', 'c3') }),
    );
    expect(await presence.stats(ch)).toEqual({ numClients: 3, numUsers: 2 });
    await presence.remove(ch, 'c3');
    expect(await presence.stats(ch)).toEqual({ numClients: 2, numUsers: 1 });
    await presence.remove(ch, 'absent');
    expect(Object.keys(await presence.get(ch)).sort()).toEqual(['c1', 'c2']);
    expect(await presence.get(uniqueChannel('empty'))).toEqual({});
    expect(await presence.stats(uniqueChannel('empty'))).toEqual({ numClients: 0, numUsers: 0 });
  });

  it('presence: adding again replaces the info', async () => {
    const { presence } = await open();
    const ch = uniqueChannel('presence-update');
    await presence.add(ch, 'c1', info('u1', 'c1'), 60_000);
    await presence.add(ch, 'c1', info('u9', 'c1'), 60_000);
    expect(comparable(await presence.get(ch))).toEqual(comparable({ c1: info('u9', 'c1') }));
  });

  it(
    'presence: entries expire unless refreshed',
    async () => {
      const { presence } = await open();
      const ch = uniqueChannel('presence-ttl');
      await presence.add(ch, 'stale', info('u1', 'stale'), ttlMs);
      await presence.add(ch, 'fresh', info('u2', 'fresh'), ttlMs);
      await sleep(ttlMs / 2);
      await presence.add(ch, 'fresh', info('u2', 'fresh'), ttlMs * 2);
      await sleep(ttlMs);
      expect(Object.keys(await presence.get(ch))).toEqual(['fresh']);
      expect(await presence.stats(ch)).toEqual({ numClients: 1, numUsers: 1 });
    },
    10_000 + ttlMs * 4,
  );
}
