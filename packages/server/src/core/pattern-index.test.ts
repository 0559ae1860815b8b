import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelLevels, PatternIndex, patternPrefix, patternRefusal } from './pattern-index.js';

const split = (text: string) => text.split('/');

/** Values of the index matching `name`, sorted. */
function matches(index: PatternIndex<string>, name: string): string[] {
  const out: string[] = [];
  index.match(split(name), (v) => out.push(v));
  return out.sort();
}

function indexOf(patterns: readonly string[]): PatternIndex<string> {
  const index = new PatternIndex<string>();
  for (const p of patterns) index.add(split(p), p);
  return index;
}

/** MQTT 5 §4.7 written as a direct level-by-level comparison: the reference for the trie. */
function reference(pattern: string, name: string): boolean {
  const p = split(pattern);
  const n = split(name);
  if ((p[0] === '+' || p[0] === '#') && (n[0] as string).startsWith('$')) return false;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= n.length) return false;
    if (p[i] !== '+' && p[i] !== n[i]) return false;
  }
  return p.length === n.length;
}

describe('PatternIndex (MQTT 5 §4.7 matching)', () => {
  it('`#` matches the parent level and everything below it', () => {
    const index = indexOf(['sport/tennis/#']);
    expect(matches(index, 'sport/tennis')).toEqual(['sport/tennis/#']);
    expect(matches(index, 'sport/tennis/player1')).toEqual(['sport/tennis/#']);
    expect(matches(index, 'sport/tennis/player1/ranking')).toEqual(['sport/tennis/#']);
    expect(matches(index, 'sport')).toEqual([]);
    expect(matches(index, 'sport/tennisX')).toEqual([]);
  });

  it('`+` matches exactly one level, an empty one too', () => {
    const index = indexOf(['sport/+', '+/+', '/+']);
    expect(matches(index, 'sport')).toEqual([]);
    expect(matches(index, 'sport/')).toEqual(['+/+', 'sport/+']);
    expect(matches(index, 'sport/tennis')).toEqual(['+/+', 'sport/+']);
    expect(matches(index, 'sport/tennis/x')).toEqual([]);
    expect(matches(index, '/finance')).toEqual(['+/+', '/+']);
  });

  it('`+` and `#` combine; `#` alone matches every name', () => {
    const index = indexOf(['+/tennis/#', '#']);
    expect(matches(index, 'sport/tennis')).toEqual(['#', '+/tennis/#']);
    expect(matches(index, 'sport/tennis/a/b')).toEqual(['#', '+/tennis/#']);
    expect(matches(index, 'x')).toEqual(['#']);
  });

  it('a leading wildcard does not match names starting with `$`, a literal `$` level does', () => {
    const index = indexOf(['#', '+/monitor/Clients', '$SYS/#', '$SYS/monitor/+']);
    expect(matches(index, '$SYS/monitor/Clients')).toEqual(['$SYS/#', '$SYS/monitor/+']);
    expect(matches(index, 'a/monitor/Clients')).toEqual(['#', '+/monitor/Clients']);
    // `$` inside a later level is an ordinary character.
    expect(matches(index, 'a/$x')).toEqual(['#']);
  });

  it('visits a value once even when several of its patterns match', () => {
    const index = new PatternIndex<string>();
    index.add(split('a/#'), 'session-1');
    index.add(split('a/+'), 'session-1');
    index.add(split('a/b'), 'session-1');
    expect(matches(index, 'a/b')).toEqual(['session-1']);
    expect(index.size).toBe(3);
    index.add(split('c'), 'session-2');
    expect([...index.values()].sort()).toEqual(['session-1', 'session-2']);
  });

  it('remove takes one pair out and prunes empty branches; absent pairs are no-ops', () => {
    const index = indexOf(['a/b/#', 'a/+/c']);
    expect(index.remove(split('a/b/#'), 'a/b/#')).toBe(true);
    expect(index.remove(split('a/b/#'), 'a/b/#')).toBe(false);
    expect(index.remove(split('x/y'), 'x/y')).toBe(false);
    expect(matches(index, 'a/b/c')).toEqual(['a/+/c']);
    expect(index.remove(split('a/+/c'), 'a/+/c')).toBe(true);
    expect(index.size).toBe(0);
    expect(matches(index, 'a/b/c')).toEqual([]);
  });

  it('agrees with the spec comparison on random patterns and names (fast-check)', () => {
    const level = fc.constantFrom('a', 'b', '', '$s');
    const name = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
    const patternLevel = fc.constantFrom('a', 'b', '', '+', '$s');
    const pattern = fc
      .tuple(fc.array(patternLevel, { minLength: 1, maxLength: 5 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l.slice(0, -1), '#'] : l).join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { maxLength: 12 }), fc.array(name, { maxLength: 8 }), (patterns, names) => {
        const index = indexOf(patterns);
        for (const n of names) {
          expect(matches(index, n)).toEqual(patterns.filter((p) => reference(p, n)).sort());
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('channel levels and pattern prefixes', () => {
  it('splits the namespace off, then the rest at `/`', () => {
    expect(channelLevels('sensors:dock-3/temp')).toEqual(['sensors', 'dock-3', 'temp']);
    expect(channelLevels('news')).toEqual(['news']);
    expect(channelLevels('chat:')).toEqual(['chat', '']);
    expect(channelLevels('a/b')).toBeUndefined();
  });

  it('the prefix is the literal part before the first wildcard, with `#` covering the parent', () => {
    expect(patternPrefix(['sensors', '+', 'temp'])).toBe('sensors:');
    expect(patternPrefix(['sensors', 'dock-3', '#'])).toBe('sensors:dock-3');
    expect(patternPrefix(['sensors', 'dock-3', '+'])).toBe('sensors:dock-3/');
    expect(patternPrefix(['sensors', '#'])).toBe('sensors');
    expect(patternPrefix(['#'])).toBe('');
    expect(patternPrefix(['+', 'x'])).toBe('');
  });

  it('every channel a pattern matches starts with its prefix (fast-check)', () => {
    const level = fc.constantFrom('a', 'b', 'ab', '');
    const channel = fc
      .array(level, { minLength: 1, maxLength: 4 })
      .map(([ns, ...rest]) => (rest.length === 0 ? (ns as string) : `${ns}:${rest.join('/')}`));
    const pattern = fc
      .tuple(fc.array(fc.constantFrom('a', 'b', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, '#'] : l));
    fc.assert(
      fc.property(pattern, fc.array(channel, { maxLength: 10 }), (levels, channels) => {
        const index = new PatternIndex<string>();
        index.add(levels, 'p');
        for (const ch of channels) {
          let hit = false;
          index.match(channelLevels(ch) ?? [], () => {
            hit = true;
          });
          if (hit) expect(ch.startsWith(patternPrefix(levels))).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses wildcards inside a level and `#` before the last level', () => {
    expect(patternRefusal(['a', '+', '#'])).toBeUndefined();
    expect(patternRefusal(['a', 'b+'])).toBe('misplaced-wildcard');
    expect(patternRefusal(['a', '#', 'b'])).toBe('misplaced-wildcard');
    expect(patternRefusal(['a#'])).toBe('misplaced-wildcard');
    expect(patternRefusal([])).toBe('empty');
  });
});
