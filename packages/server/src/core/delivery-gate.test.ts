import { jsonCodec, type Push } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import type { StreamPublication } from '../broker/types.js';
import { FakeClock } from '../internal/clock.js';
import { applyMergePatch, type JsonValue } from '../internal/merge-patch.js';
import { DeliveryGate, type GateOptions } from './delivery-gate.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function gate(options: Partial<GateOptions>) {
  const pushes: Push[] = [];
  const out = {
    codec: jsonCodec,
    queuedBytes: 0,
    enqueueShared: () => {
      throw new Error('not expected: the test passes no shared push');
    },
    sendPush: (push: Push) => pushes.push(push),
  };
  const g = new DeliveryGate('st:c', out, new FakeClock(), {
    intervalMs: 0,
    slowConsumer: 'disconnect',
    slowBytes: 1000,
    delta: undefined,
    ...options,
  });
  return { g, pushes, out };
}

let offset = 0;
const pub = (doc: JsonValue, key?: string): StreamPublication => ({
  data: enc.encode(JSON.stringify(doc)),
  offset: ++offset,
  time: 0,
  ...(key !== undefined ? { tags: { key } } : {}),
});

describe('DeliveryGate merge-patch deltas', () => {
  it('sends a key whole the first time, then RFC 7396 patches against that key’s last document', () => {
    const { g, pushes } = gate({ delta: 'merge-patch' });
    const big = (v: number, extra?: object) => ({ name: 'a fairly long device name', site: 'north', v, ...extra });
    g.deliver(pub(big(1), 'a'), undefined);
    g.deliver(pub(big(1), 'b'), undefined);
    g.deliver(pub(big(2), 'a'), undefined);
    g.deliver(pub(big(3, { alarm: 'hot' }), 'a'), undefined);
    g.deliver(pub({ name: 'a fairly long device name', v: 3 }, 'a'), undefined);
    const docs = new Map<string, JsonValue>();
    for (const p of pushes) {
      const key = p.pub!.tags!.key!;
      const data = JSON.parse(dec.decode(p.pub!.data)) as JsonValue;
      docs.set(key, p.pub!.delta === true ? applyMergePatch(docs.get(key), data) : data);
    }
    expect(pushes.map((p) => p.pub!.delta === true)).toEqual([false, false, true, true, true]);
    expect(JSON.parse(dec.decode(pushes[2]!.pub!.data))).toEqual({ v: 2 });
    expect(JSON.parse(dec.decode(pushes[4]!.pub!.data))).toEqual({ site: null, alarm: null });
    expect(docs.get('a')).toEqual({ name: 'a fairly long device name', v: 3 });
    expect(docs.get('b')).toEqual(big(1));
    expect(g.bytesSent).toBeLessThan(g.bytesFull);
  });

  it('sends whole when a patch cannot express the change (a member becomes null) or is not smaller', () => {
    const { g, pushes } = gate({ delta: 'merge-patch' });
    g.deliver(pub({ a: 1, b: 'x'.repeat(50) }), undefined);
    g.deliver(pub({ a: null, b: 'x'.repeat(50) }), undefined);
    g.deliver(pub(7), undefined);
    expect(pushes.map((p) => p.pub!.delta === true)).toEqual([false, false, false]);
  });

  it('the snapshot seeds the bases', () => {
    const { g, pushes } = gate({ delta: 'merge-patch' });
    const snap = g.prepareReplyPublications([
      { data: enc.encode('{"v":1,"pad":"xxxxxxxxxxxxxxxx"}'), tags: { key: 'k' } },
    ]);
    expect(dec.decode(snap[0]!.data)).toBe('{"v":1,"pad":"xxxxxxxxxxxxxxxx"}');
    g.deliver(pub({ v: 2, pad: 'xxxxxxxxxxxxxxxx' }, 'k'), undefined);
    expect(pushes[0]!.pub!.delta).toBe(true);
    expect(dec.decode(pushes[0]!.pub!.data)).toBe('{"v":2}');
  });
});

describe('DeliveryGate skip policy', () => {
  it('drops while over the slow mark and puts a gap marker before the next publication', () => {
    const { g, pushes, out } = gate({ slowConsumer: 'skip' });
    out.queuedBytes = 2000;
    g.deliver(pub({ v: 1 }), undefined);
    g.deliver(pub({ v: 2 }), undefined);
    out.queuedBytes = 0;
    const next = pub({ v: 3 });
    g.deliver(next, undefined);
    expect(pushes.map((p) => [p.pub!.tags?.gap, p.pub!.offset])).toEqual([
      ['2', next.offset - 1],
      [undefined, next.offset],
    ]);
  });
});
