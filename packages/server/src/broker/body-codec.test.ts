import { comparableInfo } from '@tidings/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientInfo,
  decodePublicationBody,
  decodeStreamPublication,
  encodeClientInfo,
  encodePublicationBody,
} from './body-codec.js';

const bytes = fc.uint8Array({ maxLength: 300 });
const info = fc.record(
  { user: fc.string(), client: fc.string(), connInfo: bytes, chanInfo: bytes },
  { requiredKeys: ['user', 'client'] },
);
const tags = fc.dictionary(fc.string(), fc.string({ unit: 'grapheme' }));

describe('publication encoding', () => {
  it('round-trips data, info and tags', () => {
    fc.assert(
      fc.property(bytes, fc.option(info, { nil: undefined }), fc.option(tags, { nil: undefined }), (data, i, t) => {
        const decoded = decodePublicationBody(encodePublicationBody({ data, info: i, tags: t }));
        expect(Array.from(decoded.data)).toEqual(Array.from(data));
        expect(comparableInfo(decoded.info)).toEqual(comparableInfo(i));
        expect(decoded.tags).toEqual(t === undefined ? undefined : { ...t });
      }),
    );
  });

  it('decodes straight into a stream publication, leaving absent fields out (not undefined)', () => {
    fc.assert(
      fc.property(bytes, fc.option(info, { nil: undefined }), fc.option(tags, { nil: undefined }), (data, i, t) => {
        const encoded = encodePublicationBody({ data, info: i, tags: t });
        const pub = decodeStreamPublication(encoded, 7, 1234);
        const body = decodePublicationBody(encoded);
        expect(Object.keys(pub).sort()).toEqual(['offset', 'time', ...Object.keys(body)].sort());
        expect({ offset: pub.offset, time: pub.time }).toEqual({ offset: 7, time: 1234 });
        expect(Array.from(pub.data)).toEqual(Array.from(data));
        expect(comparableInfo(pub.info)).toEqual(comparableInfo(i));
        expect(pub.tags).toEqual(t === undefined ? undefined : { ...t });
        expect('info' in body).toBe(i !== undefined);
        expect('tags' in body).toBe(t !== undefined);
      }),
    );
  });

  it('round-trips a client info, dropping empty byte fields', () => {
    fc.assert(
      fc.property(info, (i) => {
        expect(comparableInfo(decodeClientInfo(encodeClientInfo(i)))).toEqual(comparableInfo(i));
      }),
    );
  });

  it('keeps a tag named __proto__ as a tag', () => {
    const tags = Object.fromEntries([['__proto__', 'x']]);
    expect(
      Object.keys(decodePublicationBody(encodePublicationBody({ data: new Uint8Array(0), tags })).tags ?? {}),
    ).toEqual(['__proto__']);
  });

  it('rejects truncated, trailing and unknown-version input', () => {
    const encoded = encodePublicationBody({ data: new Uint8Array([1, 2, 3]), tags: { a: 'b' } });
    expect(() => decodePublicationBody(encoded.subarray(0, encoded.length - 1))).toThrow(/truncated/);
    expect(() => decodePublicationBody(new Uint8Array([...encoded, 0]))).toThrow(/trailing/);
    expect(() => decodePublicationBody(new Uint8Array([9, ...encoded.subarray(1)]))).toThrow(/version/);
  });

  it('gives every body bytes of its own: earlier bodies stay intact across many later encodes', () => {
    // Small bodies are views into a shared slab; enough of them to fill several slabs.
    const bodies = Array.from({ length: 3_000 }, (_, i) => {
      const data = new Uint8Array(1 + (i % 200)).fill(i % 251);
      return { data, encoded: encodePublicationBody({ data, tags: i % 3 === 0 ? { n: String(i) } : undefined }) };
    });
    for (const [i, { data, encoded }] of bodies.entries()) {
      const decoded = decodePublicationBody(encoded);
      expect(decoded.data).toEqual(data);
      expect(decoded.tags).toEqual(i % 3 === 0 ? { n: String(i) } : undefined);
    }
    // No two views share a byte.
    const byBuffer = new Map<ArrayBufferLike, Array<{ from: number; to: number }>>();
    for (const { encoded } of bodies) {
      const list = byBuffer.get(encoded.buffer) ?? [];
      list.push({ from: encoded.byteOffset, to: encoded.byteOffset + encoded.byteLength });
      byBuffer.set(encoded.buffer, list);
    }
    expect(byBuffer.size).toBeGreaterThan(1);
    for (const list of byBuffer.values()) {
      list.sort((a, b) => a.from - b.from);
      for (let i = 1; i < list.length; i++) expect(list[i]!.from).toBeGreaterThanOrEqual(list[i - 1]!.to);
    }
  });

  it('encodes lengths past one varint byte', () => {
    const data = new Uint8Array(70_000).fill(7);
    expect(decodePublicationBody(encodePublicationBody({ data })).data).toEqual(data);
  });
});
