import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { ChannelStream } from './channel-stream.js';
import { nextConnectionState } from './connection-machine.js';
import { nextSubscriptionState } from './subscription-machine.js';

describe('backoffDelay (full jitter)', () => {
  const opts = { minDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially up to the cap and scales by the random draw', () => {
    expect(backoffDelay(0, opts, () => 0.999)).toBe(99);
    expect(backoffDelay(2, opts, () => 0.5)).toBe(200);
    expect(backoffDelay(10, opts, () => 0.999)).toBe(999);
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
  });
  it('never comes back earlier than a server-advised delay', () => {
    expect(backoffDelay(0, opts, () => 0.1, 3000)).toBe(3000);
    expect(backoffDelay(5, opts, () => 0.9, 10)).toBe(900);
  });
});

describe('transition tables', () => {
  it('connection: connect → connecting → connected → disconnected → retry', () => {
    expect(nextConnectionState('disconnected', 'connect')).toBe('connecting');
    expect(nextConnectionState('connecting', 'connected')).toBe('connected');
    expect(nextConnectionState('connected', 'transport_lost')).toBe('disconnected');
    expect(nextConnectionState('disconnected', 'retry')).toBe('connecting');
    expect(nextConnectionState('connected', 'terminal')).toBe('closed');
  });
  it('connection: ignores inputs that do not apply (stale callbacks)', () => {
    expect(nextConnectionState('disconnected', 'transport_lost')).toBeUndefined();
    expect(nextConnectionState('closed', 'retry')).toBeUndefined();
    expect(nextConnectionState('disconnected', 'connected')).toBeUndefined();
  });
  it('subscription: resubscribes after a lost connection and ignores replies once unsubscribed', () => {
    expect(nextSubscriptionState('subscribed', 'connection_lost')).toBe('subscribing');
    expect(nextSubscriptionState('subscribing', 'subscribed')).toBe('subscribed');
    expect(nextSubscriptionState('unsubscribed', 'subscribed')).toBeUndefined();
  });
});

describe('ChannelStream', () => {
  it('delivers the next offset, drops duplicates and reports gaps', () => {
    const s = new ChannelStream();
    s.reset('e', 4);
    expect(s.accept(5)).toBe('deliver');
    expect(s.accept(5)).toBe('duplicate');
    expect(s.accept(3)).toBe('duplicate');
    expect(s.accept(7)).toBe('gap');
    expect(s.position).toEqual({ epoch: 'e', offset: 5 });
    expect(s.accept(6)).toBe('deliver');
  });
});
