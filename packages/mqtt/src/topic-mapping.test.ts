import { channelLevels, PatternIndex } from '@tidings/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterToLevels, isWildcardFilter, TopicMapping } from './topic-mapping.js';

const level = fc.stringMatching(/^[a-z0-9_.:-]{1,8}$/);
const firstLevel = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/);

describe('TopicMapping', () => {
  const m = new TopicMapping();

  it('maps the first level to the namespace', () => {
    expect(m.topicToChannel('chat/lobby')).toEqual({ ok: true, channel: 'chat:lobby' });
    expect(m.topicToChannel('sensors/dock-3/temp')).toEqual({ ok: true, channel: 'sensors:dock-3/temp' });
    expect(m.topicToChannel('news')).toEqual({ ok: true, channel: 'news' });
    expect(m.channelToTopic('sensors:dock-3/temp')).toBe('sensors/dock-3/temp');
  });

  it('refuses what MQTT or the mapping forbids, with the reason', () => {
    expect(m.topicToChannel('')).toEqual({ ok: false, reason: 'empty' });
    expect(m.topicToChannel('/x')).toEqual({ ok: false, reason: 'empty' });
    expect(m.topicToChannel('chat/')).toEqual({ ok: false, reason: 'empty' });
    expect(m.topicToChannel('chat/a\u0000b')).toEqual({ ok: false, reason: 'nul' });
    expect(m.topicToChannel('chat/+')).toEqual({ ok: false, reason: 'wildcard' });
    expect(m.topicToChannel('chat/#')).toEqual({ ok: false, reason: 'wildcard' });
    expect(m.topicToChannel('$SYS/x')).toEqual({ ok: false, reason: 'reserved' });
    expect(m.topicToChannel('a:b/c')).toEqual({ ok: false, reason: 'separator' });
    expect(isWildcardFilter('a/+/b')).toBe(true);
    expect(isWildcardFilter('a/b')).toBe(false);
  });

  it('strips and restores a configured prefix and separator', () => {
    const p = new TopicMapping({ topicPrefix: 'tidings/', namespaceSeparator: '.' });
    expect(p.topicToChannel('tidings/chat/lobby')).toEqual({ ok: true, channel: 'chat.lobby' });
    expect(p.topicToChannel('other/chat')).toEqual({ ok: false, reason: 'prefix' });
    expect(p.channelToTopic('chat.lobby')).toBe('tidings/chat/lobby');
    expect(() => new TopicMapping({ namespaceSeparator: '/' })).toThrow(RangeError);
  });

  it('is a bijection on accepted topics (property)', () => {
    fc.assert(
      fc.property(firstLevel, fc.array(level, { maxLength: 4 }), (first, rest) => {
        const topic = [first, ...rest].join('/');
        const r = m.topicToChannel(topic);
        if (!r.ok) return;
        expect(m.channelToTopic(r.channel)).toBe(topic);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('wildcard filters → channel levels', () => {
  const m = new TopicMapping();

  it('maps the filter levels, first level = namespace, and refuses what cannot match', () => {
    expect(filterToLevels(m, 'sensors/+/temp', 255)).toEqual({ ok: true, levels: ['sensors', '+', 'temp'] });
    expect(filterToLevels(m, '#', 255)).toEqual({ ok: true, levels: ['#'] });
    const refusal = (filter: string) => {
      const r = filterToLevels(m, filter, 20);
      return r.ok ? 'ok' : r.reason;
    };
    expect(refusal('chat/a#')).toBe('wildcard');
    expect(refusal('chat/#/x')).toBe('wildcard');
    expect(refusal('chat+/x')).toBe('wildcard');
    expect(refusal('$SYS/#')).toBe('reserved');
    expect(refusal('/+')).toBe('empty');
    expect(refusal('a:b/#')).toBe('separator');
    expect(refusal('chat/\u0000/#')).toBe('nul');
    expect(refusal(`chat/${'x'.repeat(30)}/#`)).toBe('length');
    expect(filterToLevels(new TopicMapping({ namespaceSeparator: '|' }), 'chat/#', 255)).toEqual({
      ok: false,
      reason: 'unsupported',
    });
  });

  it('honours the topic prefix literally', () => {
    const prefixed = new TopicMapping({ topicPrefix: 'tidings/' });
    expect(filterToLevels(prefixed, 'tidings/chat/#', 255)).toEqual({ ok: true, levels: ['chat', '#'] });
    expect(filterToLevels(prefixed, '#', 255)).toEqual({ ok: false, reason: 'prefix' });
  });

  it('a filter matches exactly the channels whose topic it matches (property)', () => {
    const lv = fc.constantFrom('a', 'b', 'c1');
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '+'), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.array(fc.array(lv, { minLength: 1, maxLength: 4 }), { maxLength: 8 }),
        (filterLevels, hash, topics) => {
          const filter = (hash ? [...filterLevels, '#'] : filterLevels).join('/');
          const mapped = filterToLevels(m, filter, 255);
          if (!mapped.ok) throw new Error(filter);
          const index = new PatternIndex<true>();
          index.add(mapped.levels, true);
          for (const levels of topics) {
            const r = m.topicToChannel(levels.join('/'));
            if (!r.ok) continue;
            let hit = false;
            index.match(channelLevels(r.channel) ?? [], () => {
              hit = true;
            });
            const f = filter.split('/');
            const spec =
              f.every((p, i) => p === '#' || (i < levels.length && (p === '+' || p === levels[i]))) &&
              (f.at(-1) === '#' ? levels.length >= f.length - 1 : levels.length === f.length);
            expect(hit).toBe(spec);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
