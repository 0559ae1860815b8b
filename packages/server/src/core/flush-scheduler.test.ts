import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { type Flushable, FlushScheduler } from './flush-scheduler.js';
import { resolveClientOptions } from './options.js';

function recorder(log: string[], name: string): Flushable {
  return { flush: () => void log.push(name) };
}

describe('FlushScheduler', () => {
  it('flushes everything pending in the next event-loop turn by default, in queue order', async () => {
    const log: string[] = [];
    const scheduler = new FlushScheduler();
    scheduler.schedule(recorder(log, 'a'));
    scheduler.schedule(recorder(log, 'b'));
    expect(log).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b']);
  });

  it('with a write delay, flushes all pending items on one shared timer after that delay', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    let timers = 0;
    const counting = {
      setTimeout: (fn: () => void, ms: number) => {
        timers++;
        return clock.setTimeout(fn, ms);
      },
    };
    const scheduler = new FlushScheduler({ delayMs: 5, clock: counting });
    scheduler.schedule(recorder(log, 'a'));
    clock.advance(3);
    scheduler.schedule(recorder(log, 'b'));
    expect(timers).toBe(1);
    clock.advance(1);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a', 'b']);
    // The next batch gets its own timer, counted from its first item.
    scheduler.schedule(recorder(log, 'c'));
    expect(timers).toBe(2);
    clock.advance(4);
    expect(log).toEqual(['a', 'b']);
    clock.advance(1);
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('sends items queued during a flush to the next one', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    const scheduler = new FlushScheduler({ delayMs: 2, clock });
    scheduler.schedule({
      flush: () => {
        log.push('first');
        scheduler.schedule(recorder(log, 'again'));
      },
    });
    clock.advance(2);
    expect(log).toEqual(['first']);
    clock.advance(2);
    expect(log).toEqual(['first', 'again']);
  });
});

describe('resolveClientOptions writeDelayMs', () => {
  it('accepts 0 (the default) and a positive delay, rejects a negative one', () => {
    expect(resolveClientOptions().writeDelayMs).toBe(0);
    expect(resolveClientOptions({ writeDelayMs: 4 }).writeDelayMs).toBe(4);
    expect(() => resolveClientOptions({ writeDelayMs: -1 })).toThrow(/client.writeDelayMs/);
    expect(() => resolveClientOptions({ maxSubscriptions: 0 })).toThrow(/client.maxSubscriptions/);
  });
});
