import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWildcardFilter, TopicMapping } from './topic-mapping.js';

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
