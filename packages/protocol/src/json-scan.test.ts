import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactJson, isValidJson, maxJsonDepth } from './json-scan.js';

const te = new TextEncoder();

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Strings built from JSON's own alphabet, so a good share of them is valid.
const jsonish = fc
  .array(
    fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      'u',
      '0',
      '1',
      '-',
      '.',
      'e',
      '+',
      'a',
      ' ',
      'true',
      'null',
      'é',
      '\n',
      '\t',
    ),
    { maxLength: 16 },
  )
  .map((parts) => parts.join(''));

describe('isValidJson', () => {
  it('agrees with JSON.parse on well-formed UTF-8 text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          jsonish,
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v, null, 1)),
        ),
        (s) => {
          expect(isValidJson(te.encode(s))).toBe(parses(s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects malformed UTF-8 inside strings', () => {
    for (const bad of [
      [0x22, 0xff, 0x22],
      [0x22, 0xc0, 0x80, 0x22],
      [0x22, 0xed, 0xa0, 0x80, 0x22],
      [0x22, 0xe2, 0x82, 0x22],
    ]) {
      expect(isValidJson(new Uint8Array(bad))).toBe(false);
    }
    expect(isValidJson(te.encode('"€ 😀"'))).toBe(true);
  });

  it('bounds nesting instead of overflowing the stack', () => {
    expect(isValidJson(te.encode(`${'['.repeat(maxJsonDepth)}${']'.repeat(maxJsonDepth)}`))).toBe(true);
    const deep = 100_000;
    expect(isValidJson(te.encode(`${'['.repeat(deep)}${']'.repeat(deep)}`))).toBe(false);
  });
});

describe('compactJson', () => {
  it('removes whitespace outside strings only, preserving the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const pretty = te.encode(JSON.stringify(value, null, '\t\r\n '));
        const compact = new TextDecoder().decode(compactJson(pretty));
        expect(compact).toBe(JSON.stringify(value));
      }),
    );
  });
});
