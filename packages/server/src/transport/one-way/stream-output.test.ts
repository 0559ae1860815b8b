import { describe, expect, it } from 'vitest';
import { negotiateEncoding } from './stream-output.js';

describe('negotiateEncoding', () => {
  it('prefers br, then gzip, and compresses only when asked', () => {
    expect(negotiateEncoding(undefined)).toBeUndefined();
    expect(negotiateEncoding('')).toBeUndefined();
    expect(negotiateEncoding('identity')).toBeUndefined();
    expect(negotiateEncoding('deflate')).toBeUndefined();
    expect(negotiateEncoding('gzip')).toBe('gzip');
    expect(negotiateEncoding('x-gzip')).toBe('gzip');
    expect(negotiateEncoding('gzip, deflate, br')).toBe('br');
    expect(negotiateEncoding(['gzip', 'br'])).toBe('br');
    expect(negotiateEncoding('*')).toBe('br');
  });

  it('honours q values: q=0 refuses, the higher q wins, br wins a tie', () => {
    expect(negotiateEncoding('br;q=0, gzip')).toBe('gzip');
    expect(negotiateEncoding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
    expect(negotiateEncoding('br;q=0.8, gzip;q=0.8')).toBe('br');
    expect(negotiateEncoding('gzip;q=0, br;q=0')).toBeUndefined();
    expect(negotiateEncoding('*;q=0')).toBeUndefined();
    expect(negotiateEncoding('*, br;q=0')).toBe('gzip');
    expect(negotiateEncoding('GZIP ; Q=1')).toBe('gzip');
    expect(negotiateEncoding('gzip;q=abc')).toBeUndefined();
  });
});
