import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesField, type JsonOut, jsonOf, RawJson, stringifyJson } from './json-output.js';

describe('stringifyJson', () => {
  it('writes plain JSON values exactly like JSON.stringify', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(stringifyJson(value as JsonOut)).toBe(JSON.stringify(value));
      }),
    );
  });

  it('splices RawJson verbatim and skips undefined members', () => {
    const out = stringifyJson({
      a: new RawJson('{"n": 12345678901234567890}'),
      b: undefined,
      c: [new RawJson('1.50')],
    });
    expect(out).toBe('{"a":{"n": 12345678901234567890},"c":[1.50]}');
  });
});

describe('jsonOf / bytesField', () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);

  it('embeds UTF-8 JSON text and falls back to base64 for anything else', () => {
    expect(jsonOf(utf8(' {"é": [1, 2]} '))?.text).toBe(' {"é": [1, 2]} ');
    expect(jsonOf(utf8('{"a":'))).toBeUndefined();
    expect(jsonOf(new Uint8Array([0xc3, 0x28]))).toBeUndefined();
    expect(bytesField('data', utf8('plain text'))).toEqual({ b64data: Buffer.from('plain text').toString('base64') });
    expect(bytesField('conn_info', undefined)).toEqual({});
  });

  it('always produces a document JSON.parse accepts, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = stringifyJson({ pub: bytesField('data', bytes) });
        expect(() => JSON.parse(text)).not.toThrow();
      }),
    );
  });
});
