import { type Command, type Reply, TidingsErrorCode } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { checkOutboxLimits, type KeyValueStorage, LocalStorageOutboxStore, MemoryOutboxStore } from './outbox.js';
import { OutboxSender } from './outbox-sender.js';

function storage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v) };
}

describe('outbox stores', () => {
  it('localStorage store keeps entries in order across instances (a page reload)', async () => {
    const s = storage();
    const a = new LocalStorageOutboxStore({ storage: s });
    await a.add({ id: '1', channel: 'c', data: '1' });
    await a.add({ id: '2', channel: 'c', data: '2' });
    const reloaded = new LocalStorageOutboxStore({ storage: s });
    expect((await reloaded.load()).map((e) => e.id)).toEqual(['1', '2']);
    await reloaded.remove('1');
    expect((await new LocalStorageOutboxStore({ storage: s }).load()).map((e) => e.id)).toEqual(['2']);
  });
  it('memory store removes by id', async () => {
    const m = new MemoryOutboxStore();
    await m.add({ id: 'a', channel: 'c', data: 'x' });
    await m.remove('a');
    expect(await m.load()).toEqual([]);
  });
  it('a full outbox refuses the new entry with a State error', () => {
    const e = { id: 'n', channel: 'c', data: 'xx' };
    expect(() => checkOutboxLimits([e], e, { maxEntries: 1, maxBytes: 100 })).toThrow(
      expect.objectContaining({ code: TidingsErrorCode.State }),
    );
    expect(() => checkOutboxLimits([], e, { maxEntries: 5, maxBytes: 1 })).toThrow(/outbox full/);
    expect(() => checkOutboxLimits([], e, { maxEntries: 5, maxBytes: 2 })).not.toThrow();
  });
  it('sends each entry with its id as idempotency key, the same key again after a lost ack', async () => {
    const store = new MemoryOutboxStore();
    const sent: Command[] = [];
    let fail = true;
    const sender = new OutboxSender(store, { maxEntries: 10, maxBytes: 1000 }, async (cmd) => {
      sent.push(cmd);
      if (fail) {
        fail = false;
        throw new Error('connection lost before the ack');
      }
      return { publish: {} } as Reply;
    });
    const done = sender.enqueue('c', '{"n":1}');
    await sender.flush();
    const [entry] = await store.load();
    expect(entry).toBeDefined();
    await sender.flush();
    await done;
    expect(sent.map((c) => c.publish?.idempotencyKey)).toEqual([entry?.id, entry?.id]);
    expect(await store.load()).toEqual([]);
  });
  it('a publish queued as the running flush finds the store empty is still sent (regression)', async () => {
    const store = new MemoryOutboxStore();
    const sent: string[] = [];
    const sender = new OutboxSender(store, { maxEntries: 10, maxBytes: 1000 }, async (cmd) => {
      sent.push(cmd.publish?.channel ?? '');
      return { publish: {} } as Reply;
    });
    let second: Promise<void> | undefined;
    // As an application does: the next publish right after the previous one was acknowledged,
    // while the flush that acknowledged it is still running.
    const first = sender.enqueue('a', '1').then(() => {
      second = sender.enqueue('b', '2');
      void sender.flush();
    });
    await sender.flush();
    await first;
    await second;
    expect(sent).toEqual(['a', 'b']);
  });
});
