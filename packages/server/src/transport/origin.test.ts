import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { corsHeaders, isOriginAllowed } from './origin.js';

const req = (origin: string | undefined, host = 'rt.example.com') =>
  ({ headers: { host, ...(origin === undefined ? {} : { origin }) } }) as IncomingMessage;

describe('isOriginAllowed', () => {
  const list = ['https://app.example.com', 'https://*.trusted.test'];

  it('allows no Origin (not a browser), the own host, exact and wildcard matches', () => {
    expect(isOriginAllowed(req(undefined), list)).toBe(true);
    expect(isOriginAllowed(req('https://rt.example.com'), [])).toBe(true);
    expect(isOriginAllowed(req('https://APP.example.com'), list)).toBe(true);
    expect(isOriginAllowed(req('https://a.b.trusted.test'), list)).toBe(true);
  });

  it('refuses strings that are not canonical origins, even under "*" (regression: the pattern itself matched)', () => {
    for (const origin of [
      'https://*.trusted.test',
      'null',
      'https://app.example.com/',
      'https://app.example.com/path',
      'https://user@app.example.com',
      'ftp://app.example.com',
      'https://app example.com',
      '',
    ]) {
      expect(isOriginAllowed(req(origin), list), origin).toBe(false);
      expect(isOriginAllowed(req(origin), ['*']), origin).toBe(false);
    }
  });

  it('gives no CORS headers to a refused origin and echoes an allowed one', () => {
    expect(corsHeaders(req('https://evil.test'), list)).toBeUndefined();
    expect(corsHeaders(req('https://app.example.com'), list)).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      vary: 'Origin',
    });
  });
});
