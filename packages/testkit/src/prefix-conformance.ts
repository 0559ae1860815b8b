import type { HistoryRetention } from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EngineFactory,
  type EngineUnderTest,
  EventRecorder,
  fromUtf8,
  sleep,
  utf8,
  waitFor,
} from './engine-harness.js';

/** Options of `runPrefixConformance`. */
export interface PrefixConformanceOptions {
  /** Engine name, shown in the suite title. */
  readonly name: string;
  /** Creates a fresh engine per test; the suite starts it and closes it afterwards. */
  readonly create: EngineFactory;
  /** How long to wait for asynchronous deliveries; default 2000 ms. */
  readonly deliveryTimeoutMs?: number;
  /** How long to wait before concluding that nothing more will be delivered; default 100 ms. */
  readonly quietMs?: number;
}

const retain: HistoryRetention = { size: 10, ttlMs: 60_000, metaTtlMs: 600_000 };
let runSeq = 0;

/**
 * Registers a vitest suite for `Broker.subscribePrefixes` (what wildcard subscriptions stand on):
 * every publication of a channel starting with a subscribed prefix arrives through
 * `onPrefixPublication` once, in offset order, whatever the number of matching prefixes;
 * channels outside every prefix do not; the exact path (`subscribe` / `onPublication`) is
 * independent; glob and subject metacharacters in a prefix are literal; `unsubscribePrefixes`
 * stops delivery. Each test uses a fresh namespace, so shared servers may keep state.
 */
export function runPrefixConformance(options: PrefixConformanceOptions): void {
  const timeoutMs = options.deliveryTimeoutMs ?? 2000;
  const quietMs = options.quietMs ?? 100;
  const opened: EngineUnderTest[] = [];
  const open = async () => {
    const engine = await options.create();
    opened.push(engine);
    const events = new EventRecorder();
    await engine.broker.start(events);
    const ns = `px${process.pid}x${Date.now().toString(36)}x${++runSeq}`;
    return { ...engine, events, ns };
  };
  const texts = (events: EventRecorder, channel?: string) =>
    events.prefixPublications
      .filter((p) => channel === undefined || p.channel === channel)
      .map((p) => fromUtf8(p.pub.data));

  describe(`${options.name}: prefix subscriptions`, () => {
    afterEach(async () => {
      for (const engine of opened.splice(0)) {
        await engine.broker.close();
        await engine.presence.close();
        await engine.cleanup?.();
      }
    });

    it('delivers every channel under the prefix once, in offset order, and nothing else', async () => {
      const { broker, events, ns } = await open();
      expect(broker.subscribePrefixes).toBeDefined();
      await broker.subscribePrefixes?.([`${ns}:dock/`]);
      for (let i = 1; i <= 5; i++) {
        await broker.publish(`${ns}:dock/a`, utf8(`a${i}`), { history: retain });
        await broker.publish(`${ns}:dock/b/c`, utf8(`b${i}`), { history: retain });
        await broker.publish(`${ns}:dockX`, utf8(`x${i}`), { history: retain });
        await broker.publish(`${ns}:other`, utf8(`o${i}`), { history: retain });
      }
      await waitFor(() => events.prefixPublications.length >= 10, timeoutMs, 'ten prefix deliveries');
      await sleep(quietMs);
      expect(texts(events, `${ns}:dock/a`)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
      expect(texts(events, `${ns}:dock/b/c`)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
      expect(events.prefixPublications.map((p) => p.pub.offset).slice(0, 2)).toEqual([1, 1]);
      expect(events.prefixPublications).toHaveLength(10);
      expect(events.publications).toEqual([]);
    });

    it('delivers once when several prefixes match, and independently of an exact subscription', async () => {
      const { broker, events, ns } = await open();
      await broker.subscribePrefixes?.([ns, `${ns}:`, `${ns}:a`]);
      await broker.subscribe([`${ns}:a`]);
      await broker.publish(`${ns}:a`, utf8('one'), { history: retain });
      await broker.publish(`${ns}`, utf8('two'), { history: retain });
      await waitFor(() => events.prefixPublications.length >= 2, timeoutMs, 'two prefix deliveries');
      await waitFor(() => events.publications.length >= 1, timeoutMs, 'the exact delivery');
      await sleep(quietMs);
      expect(texts(events).sort()).toEqual(['one', 'two']);
      expect(events.publications.map((p) => fromUtf8(p.pub.data))).toEqual(['one']);
    });

    it('treats glob and subject metacharacters in a prefix literally', async () => {
      const { broker, events, ns } = await open();
      await broker.subscribePrefixes?.([`${ns}:a*[b]?.>\\`]);
      await broker.publish(`${ns}:aXbY`, utf8('no'), { history: retain });
      await broker.publish(`${ns}:a*[b]?.>\\z`, utf8('yes'), { history: retain });
      await waitFor(() => events.prefixPublications.length >= 1, timeoutMs, 'the literal match');
      await sleep(quietMs);
      expect(texts(events)).toEqual(['yes']);
    });

    it('lists the channels with a stream under a prefix', async () => {
      const { broker, history, ns } = await open();
      expect(history.channels).toBeDefined();
      for (const ch of [`${ns}:a/1`, `${ns}:a/2`, `${ns}:b`]) await broker.publish(ch, utf8('x'), { history: retain });
      expect((await history.channels?.(`${ns}:a`, 100))?.sort()).toEqual([`${ns}:a/1`, `${ns}:a/2`]);
      expect((await history.channels?.(ns, 100))?.sort()).toEqual([`${ns}:a/1`, `${ns}:a/2`, `${ns}:b`]);
      expect(await history.channels?.(`${ns}:a`, 1)).toHaveLength(1);
      expect(await history.channels?.(`${ns}:zzz`, 100)).toEqual([]);
    });

    it('stops delivering after unsubscribePrefixes, keeping the other prefixes', async () => {
      const { broker, events, ns } = await open();
      await broker.subscribePrefixes?.([`${ns}:a`, `${ns}:b`]);
      await broker.unsubscribePrefixes?.([`${ns}:a`]);
      await broker.publish(`${ns}:a1`, utf8('gone'), { history: retain });
      await broker.publish(`${ns}:b1`, utf8('kept'), { history: retain });
      await waitFor(() => events.prefixPublications.length >= 1, timeoutMs, 'the kept prefix');
      await sleep(quietMs);
      expect(texts(events)).toEqual(['kept']);
    });
  });
}
