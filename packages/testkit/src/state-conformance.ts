import type { StateEntry, StateStore } from '@tidings/server';
import { afterAll, describe, expect, it } from 'vitest';
import { fromUtf8, sleep, uniqueChannel, utf8 } from './engine-harness.js';

/** Options of `runStateStoreConformance`. */
export interface StateStoreConformanceOptions {
  readonly name: string;
  /** A fresh store on the engine under test; closed by the suite. */
  readonly create: () => Promise<StateStore>;
  /** A short ttl for the expiry case (real time: external stores cannot follow a fake clock). Default 1000. */
  readonly ttlMs?: number;
}

const entry = (key: string, offset: number, text: string, epoch = 'e1'): StateEntry => ({
  key,
  data: utf8(text),
  offset,
  epoch,
  time: 1_700_000_000_000 + offset,
});

const view = (e: StateEntry | undefined) =>
  e === undefined ? undefined : { key: e.key, text: fromUtf8(e.data), offset: e.offset, epoch: e.epoch, time: e.time };

/**
 * The `StateStore` contract, run by every implementation (memory, Redis, NATS KV): newest by
 * offset per key, an epoch change replaces, snapshots sorted by offset, removal, expiry.
 */
export function runStateStoreConformance(options: StateStoreConformanceOptions): void {
  const ttlMs = options.ttlMs ?? 1000;
  describe(`${options.name}: StateStore conformance`, () => {
    const opened: StateStore[] = [];
    const open = async () => {
      const store = await options.create();
      opened.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of opened) await store.close();
    });

    it('keeps the entry with the highest offset per key, whatever the write order', async () => {
      const store = await open();
      const ch = uniqueChannel('state-order');
      expect(await store.put(ch, entry('', 2, '{"v":2}'), 0)).toBe(true);
      expect(await store.put(ch, entry('', 1, '{"v":1}'), 0)).toBe(false);
      expect(await store.put(ch, entry('', 2, '{"v":"dup"}'), 0)).toBe(false);
      expect(view(await store.get(ch, ''))).toEqual(view(entry('', 2, '{"v":2}')));
      expect(await store.put(ch, entry('', 5, '{"v":5}'), 0)).toBe(true);
      expect(view(await store.get(ch, ''))).toEqual(view(entry('', 5, '{"v":5}')));
    });

    it('an entry of another epoch replaces the stored one', async () => {
      const store = await open();
      const ch = uniqueChannel('state-epoch');
      await store.put(ch, entry('k', 9, '{"old":true}', 'e1'), 0);
      expect(await store.put(ch, entry('k', 1, '{"new":true}', 'e2'), 0)).toBe(true);
      expect(view(await store.get(ch, 'k'))).toEqual(view(entry('k', 1, '{"new":true}', 'e2')));
    });

    it('keeps keys apart and snapshots them sorted by offset; absent keys and channels are empty', async () => {
      const store = await open();
      const ch = uniqueChannel('state-keys');
      await store.put(ch, entry('b', 3, '{"b":3}'), 0);
      await store.put(ch, entry('a', 1, '{"a":1}'), 0);
      await store.put(ch, entry('c', 2, '"c"'), 0);
      await store.put(ch, entry('a', 4, '{"a":4}'), 0);
      const snap = (await store.snapshot(ch)).map(view);
      expect(snap).toEqual([entry('c', 2, '"c"'), entry('b', 3, '{"b":3}'), entry('a', 4, '{"a":4}')].map(view));
      expect(await store.get(ch, 'zz')).toBeUndefined();
      expect(await store.snapshot(uniqueChannel('state-none'))).toEqual([]);
      expect(await store.get(uniqueChannel('state-none'), '')).toBeUndefined();
    });

    it('stores documents byte for byte (non-ASCII, large)', async () => {
      const store = await open();
      const ch = uniqueChannel('state-bytes');
      const big = JSON.stringify({ s: 'é€😀'.repeat(10), pad: 'x'.repeat(100_000) });
      await store.put(ch, entry('ключ', 1, big), 0);
      expect(fromUtf8((await store.get(ch, 'ключ'))!.data)).toBe(big);
    });

    it('removes one key or the whole channel', async () => {
      const store = await open();
      const ch = uniqueChannel('state-remove');
      await store.put(ch, entry('a', 1, '1'), 0);
      await store.put(ch, entry('b', 2, '2'), 0);
      await store.remove(ch, 'a');
      expect((await store.snapshot(ch)).map((e) => e.key)).toEqual(['b']);
      await store.remove(ch);
      expect(await store.snapshot(ch)).toEqual([]);
      // After removal a lower offset is accepted again.
      expect(await store.put(ch, entry('b', 1, '1'), 0)).toBe(true);
    });

    it(
      'a channel expires ttlMs after its last put',
      async () => {
        const store = await open();
        const ch = uniqueChannel('state-ttl');
        const kept = uniqueChannel('state-kept');
        await store.put(ch, entry('a', 1, '1'), ttlMs);
        await store.put(kept, entry('a', 1, '1'), 0);
        await sleep(ttlMs / 2);
        await store.put(ch, entry('b', 2, '2'), ttlMs);
        // Expiry is due at 1.5 ttl; read at about 0.75 ttl, then past 2 ttl.
        await sleep(ttlMs / 4);
        expect((await store.snapshot(ch)).map((e) => e.key)).toEqual(['a', 'b']);
        await sleep(ttlMs * 1.25);
        expect(await store.snapshot(ch)).toEqual([]);
        expect(await store.get(ch, 'a')).toBeUndefined();
        expect((await store.snapshot(kept)).length).toBe(1);
      },
      10_000 + ttlMs * 4,
    );
  });
}
