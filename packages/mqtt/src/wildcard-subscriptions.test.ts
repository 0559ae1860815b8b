import type {
  EncodedPush,
  HubPatternSubscriber,
  PatternSubscription,
  Session,
  StreamPublication,
} from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { defaultMqttOptions } from './mqtt-options.js';
import type { EdgeContext, OutboundQueue, SubscriptionState } from './outbound.js';
import { MqttReason } from './reason-codes.js';
import { SessionStore } from './session-store.js';
import { TopicMapping } from './topic-mapping.js';
import { WildcardSubscriptions } from './wildcard-subscriptions.js';

/** A connection stand-in: records what would be written and why it failed. */
function harness(allowed: (channel: string) => boolean = () => true) {
  const delivered: Array<[string, number, boolean, 0 | 1]> = [];
  const failures: number[] = [];
  const byName = new Set<string>();
  const patterns: Array<readonly string[]> = [];
  const node = {
    subscribePattern: async (levels: readonly string[], _s: HubPatternSubscriber): Promise<PatternSubscription> => {
      patterns.push(levels);
      return { prefix: '', close: () => patterns.splice(patterns.indexOf(levels), 1) };
    },
  };
  const ctx = {
    node,
    mapping: new TopicMapping(),
    options: defaultMqttOptions,
    store: new SessionStore(10, Date.now),
    connections: new Map(),
    sharedPackets: { v4: new WeakMap(), v5: new WeakMap() },
  } as unknown as EdgeContext;
  const out = {
    subscription: (channel: string) => (byName.has(channel) ? ({} as SubscriptionState) : undefined),
    deliver: (channel: string, pub: { offset?: number }, retain: boolean, _s: unknown, state?: SubscriptionState) =>
      delivered.push([channel, pub.offset ?? 0, retain, state?.qos ?? 0]),
  } as unknown as OutboundQueue;
  const session = { mayReceiveByPattern: allowed } as unknown as Session;
  const wild = new WildcardSubscriptions(ctx, { session: () => session, out, fail: (r) => failures.push(r) });
  return { wild, delivered, failures, byName, patterns };
}

const pub = (offset: number): StreamPublication => ({ offset, time: 0, data: new Uint8Array() });
const shared = {} as EncodedPush;

describe('WildcardSubscriptions', () => {
  it('fails the connection on an offset gap or an epoch change in a matched channel, and skips duplicates', async () => {
    const h = harness();
    await h.wild.add('s/#', ['s', '#'], 1);
    h.wild.deliverPatternPublication('s:a', pub(1), 'e1', shared);
    h.wild.deliverPatternPublication('s:a', pub(2), 'e1', shared);
    h.wild.deliverPatternPublication('s:a', pub(2), 'e1', shared);
    expect(h.delivered.map((d) => d[1])).toEqual([1, 2]);
    expect(h.failures).toEqual([]);
    h.wild.deliverPatternPublication('s:a', pub(4), 'e1', shared);
    expect(h.failures).toEqual([MqttReason.UnspecifiedError]);
    h.wild.deliverPatternPublication('s:b', pub(7), 'e1', shared);
    h.wild.deliverPatternPublication('s:b', pub(1), 'e2', shared);
    expect(h.failures).toHaveLength(2);
  });

  it('fails the connection on an engine discontinuity', async () => {
    const h = harness();
    await h.wild.add('s/#', ['s', '#'], 0);
    h.wild.patternDiscontinuity();
    expect(h.failures).toEqual([MqttReason.UnspecifiedError]);
  });

  it('skips refused channels and channels subscribed by name; QoS is the highest matching filter', async () => {
    const h = harness((channel) => channel !== 's:secret');
    await h.wild.add('s/#', ['s', '#'], 0);
    await h.wild.add('s/+', ['s', '+'], 1);
    h.byName.add('s:named');
    for (const ch of ['s:secret', 's:named', 's:a', 's:a/b']) h.wild.deliverPatternPublication(ch, pub(1), 'e', shared);
    expect(h.delivered).toEqual([
      ['s:a', 1, false, 1],
      ['s:a/b', 1, false, 0],
    ]);
  });

  it('a retained message is the baseline of live ones; one older than what arrived live is dropped', async () => {
    const h = harness();
    await h.wild.add('s/+', ['s', '+'], 0);
    h.wild.deliverRetained('s:a', pub(5), 'e');
    h.wild.deliverPatternPublication('s:a', pub(6), 'e', shared);
    h.wild.deliverPatternPublication('s:b', pub(3), 'e', shared);
    h.wild.deliverRetained('s:b', pub(2), 'e');
    expect(h.delivered).toEqual([
      ['s:a', 5, true, 0],
      ['s:a', 6, false, 0],
      ['s:b', 3, false, 0],
    ]);
    expect(h.failures).toEqual([]);
  });

  it('remove and close release the node pattern subscriptions', async () => {
    const h = harness();
    await h.wild.add('s/+', ['s', '+'], 0);
    await h.wild.add('t/#', ['t', '#'], 0);
    expect(h.wild.remove('s/+')).toBe(true);
    expect(h.wild.remove('s/+')).toBe(false);
    expect(h.patterns).toEqual([['t', '#']]);
    h.wild.close();
    expect(h.patterns).toEqual([]);
    h.wild.deliverPatternPublication('t:x', pub(1), 'e', shared);
    expect(h.delivered).toEqual([]);
  });
});
