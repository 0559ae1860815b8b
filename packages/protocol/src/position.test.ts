import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import type { StreamPosition } from './messages.js';
import {
  decodeCursor,
  encodeCursor,
  formatPosition,
  fromBase64Url,
  maxCursorLength,
  parsePosition,
  toBase64Url,
} from './position.js';

function expectBadCursor(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(isTidingsError(err) && err.code === TidingsErrorCode.BadCursor, String(err)).toBe(true);
    return;
  }
  expect.fail('expected a BadCursor error');
}

const epoch = fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/);
const position: fc.Arbitrary<StreamPosition> = fc.record({ offset: fc.maxSafeNat(), epoch });

describe('positions', () => {
  it('formats as <epoch>.<offset> and parses back', () => {
    expect(formatPosition({ epoch: 'Xy3_kQ', offset: 42 })).toBe('Xy3_kQ.42');
    expect(parsePosition('Xy3_kQ.42')).toEqual({ epoch: 'Xy3_kQ', offset: 42 });
    expect(parsePosition('.0')).toEqual({ epoch: '', offset: 0 });
    fc.assert(
      fc.property(position, (p) => {
        expect(parsePosition(formatPosition(p))).toEqual(p);
      }),
    );
  });

  it('rejects malformed text with BadCursor', () => {
    for (const bad of [
      '',
      '42',
      'abc',
      'a.',
      'a.-1',
      'a.01',
      'a.1.5',
      'a.1e3',
      'a b.1',
      'a.9007199254740992',
      `${'e'.repeat(65)}.1`,
    ]) {
      expectBadCursor(() => parsePosition(bad));
    }
    expectBadCursor(() => formatPosition({ epoch: 'a.b', offset: 1 }));
    expectBadCursor(() => formatPosition({ epoch: 'a', offset: -1 }));
    expectBadCursor(() => formatPosition({ epoch: 'a', offset: 1.5 }));
  });
});

describe('base64url', () => {
  it('round trips any bytes and matches the RFC 4648 alphabet without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(fromBase64Url(toBase64Url(b))).toEqual(b);
      }),
    );
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('-_-_');
    expect(toBase64Url(Uint8Array.of(0x66, 0x6f))).toBe('Zm8');
  });

  it('rejects other characters, impossible lengths and non-zero spare bits', () => {
    for (const bad of ['Zm8=', 'Z', 'ab+c', 'ab/c', 'Zm9', 'é']) expect(fromBase64Url(bad)).toBeUndefined();
  });
});

describe('cursors', () => {
  const positions = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 16 }), position, { maxKeys: 6 });

  it('round trips any set of channel positions', () => {
    fc.assert(
      fc.property(positions, (p) => {
        expect(decodeCursor(encodeCursor(p))).toEqual(p);
      }),
    );
  });

  it('is url-safe and canonical: key order does not change the token', () => {
    fc.assert(
      fc.property(positions, (p) => {
        const token = encodeCursor(p);
        expect(token).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(encodeCursor(Object.fromEntries(Object.entries(p).reverse()))).toBe(token);
      }),
    );
  });

  it('is compact', () => {
    const token = encodeCursor({
      'prices:AAPL': { epoch: 'Xy3_kQ12', offset: 1234 },
      news: { epoch: 'ab', offset: 7 },
    });
    expect(token.length).toBeLessThan(50);
  });

  it('rejects anything else with BadCursor', () => {
    const good = encodeCursor({ a: { epoch: 'e', offset: 1 }, b: { epoch: 'f', offset: 2 } });
    const bytes = fromBase64Url(good) as Uint8Array;
    const variant = (edit: (b: Uint8Array) => Uint8Array) => toBase64Url(edit(bytes.slice()));
    const bad = [
      '',
      'not a token!',
      good.slice(0, -2),
      variant((b) => Uint8Array.of(2, ...b.subarray(1))),
      variant((b) => Uint8Array.of(...b, 0)),
      variant((b) => b.subarray(0, b.length - 1)),
      // Channels out of order ("b" before "a").
      toBase64Url(Uint8Array.of(1, 2, 1, 0x62, 1, 0x65, 1, 1, 0x61, 1, 0x65, 1)),
      // An epoch with a character outside the url-safe alphabet.
      toBase64Url(Uint8Array.of(1, 1, 1, 0x61, 1, 0x2e, 1)),
      // A channel that is not UTF-8.
      toBase64Url(Uint8Array.of(1, 1, 1, 0xff, 1, 0x65, 1)),
      // A huge count.
      toBase64Url(Uint8Array.of(1, 0xff, 0xff, 0xff, 0x7f)),
      'A'.repeat(maxCursorLength + 4),
    ];
    for (const token of bad) expectBadCursor(() => decodeCursor(token));
  });

  it('throws only BadCursor on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 40 }).map(toBase64Url)), (token) => {
        try {
          decodeCursor(token);
        } catch (err) {
          expect(isTidingsError(err) && err.code === TidingsErrorCode.BadCursor).toBe(true);
        }
      }),
    );
  });
});
