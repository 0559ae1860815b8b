import { describe, expect, it } from 'vitest';
import { applyMergePatch, createMergePatch, type JsonValue } from './merge-patch.js';

// RFC 7396 Appendix A: every example, as [target, patch, result].
const rfcExamples: Array<[JsonValue, JsonValue, JsonValue]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('applyMergePatch (RFC 7396)', () => {
  it.each(rfcExamples)('%j + %j', (target, patch, result) => {
    const before = JSON.stringify(target);
    expect(applyMergePatch(target, patch)).toEqual(result);
    expect(JSON.stringify(target)).toBe(before);
  });

  it('treats a "__proto__" member as data, never as a prototype', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as JsonValue;
    const out = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });
});

describe('createMergePatch', () => {
  const pairs: Array<[JsonValue, JsonValue]> = [
    [
      { a: 1, b: { c: 2, d: 3 } },
      { a: 1, b: { c: 4 } },
    ],
    [{ a: [1, 2] }, { a: [1, 2, 3], x: 'y' }],
    [{ a: 1 }, 'scalar'],
    ['scalar', { a: 1 }],
    [{ a: { b: 1 } }, { a: 5 }],
  ];
  it.each(pairs)('%j -> %j round-trips', (from, to) => {
    const made = createMergePatch(from, to);
    expect(made).toBeDefined();
    expect(applyMergePatch(from, made!.patch)).toEqual(to);
  });

  it('gives only the changed members', () => {
    expect(createMergePatch({ p: 1, q: 2, r: 3 }, { p: 1, q: 5 })).toEqual({ patch: { q: 5, r: null } });
    expect(createMergePatch({ p: 1 }, { p: 1 })).toEqual({ patch: {} });
  });

  it('refuses a change to a null member, which a merge patch cannot express', () => {
    expect(createMergePatch({ a: 1 }, { a: null })).toBeUndefined();
    expect(createMergePatch({ a: { b: 1 } }, { a: { b: null } })).toBeUndefined();
    expect(createMergePatch(1, { a: null })).toBeUndefined();
    // Unchanged nulls are fine.
    expect(createMergePatch({ a: null, b: 1 }, { a: null, b: 2 })).toEqual({ patch: { b: 2 } });
  });
});
