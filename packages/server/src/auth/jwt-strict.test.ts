import { isTidingsError } from '@tidings/protocol';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { createJwtAuthenticator } from './jwt-authenticator.js';
import { assertCanonicalCompact } from './jwt-strict.js';

const secret = 'a-very-long-hmac-secret-of-at-least-32-bytes';
const key = new TextEncoder().encode(secret);
const clock = new FakeClock(1_700_000_000_000);
const nowSec = Math.floor(clock.now() / 1000);
const auth = createJwtAuthenticator({ clock, keys: [{ alg: 'HS256', secret }], maxTokenLifetimeSec: 3600 });

const sign = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

async function wireCodeOf(token: string): Promise<number | undefined> {
  try {
    await auth.authenticate({ token });
  } catch (error) {
    if (!isTidingsError(error)) throw error;
    return error.wireCode;
  }
  return undefined;
}

describe('JWT strictness (issue 15 findings)', () => {
  it('a validly signed token with exp = 1e308 (never expires) is refused with 101', async () => {
    expect(await wireCodeOf(await sign({ sub: 'u', exp: 1e308 }))).toBe(101);
  });

  it('exp past maxTokenLifetimeSec, or exp - iat past it, is refused; within it is accepted', async () => {
    expect(await wireCodeOf(await sign({ sub: 'u', exp: nowSec + 3600 + 60 }))).toBe(101);
    expect(await wireCodeOf(await sign({ sub: 'u', iat: nowSec - 7200, exp: nowSec + 60 }))).toBe(101);
    expect(await wireCodeOf(await sign({ sub: 'u', iat: nowSec, exp: nowSec + 3600 }))).toBeUndefined();
  });

  it('iat in the future beyond the leeway is refused with 101; within the leeway accepted', async () => {
    expect(await wireCodeOf(await sign({ sub: 'u', iat: nowSec + 600, exp: nowSec + 900 }))).toBe(101);
    expect(await wireCodeOf(await sign({ sub: 'u', iat: nowSec + 3, exp: nowSec + 60 }))).toBeUndefined();
    expect(await wireCodeOf(await sign({ sub: 'u', iat: 'yesterday', exp: nowSec + 60 }))).toBe(101);
  });

  it('a token with "=" appended to its signature (one token, many strings) is refused with 101', async () => {
    const token = await sign({ sub: 'u', exp: nowSec + 60 });
    expect(await wireCodeOf(token)).toBeUndefined();
    for (const variant of [`${token}=`, `${token}==`, `${token} `, token.replace(/\.([^.]*)$/, '.+$1')]) {
      expect(await wireCodeOf(variant), variant.slice(-4)).toBe(101);
    }
  });

  it('non-canonical base64url (unused bits set in the last character) is refused', async () => {
    const token = await sign({ sub: 'u', exp: nowSec + 60 });
    // HS256 signatures are 32 bytes = 43 characters: the last one carries 2 unused bits.
    const sig = token.slice(token.lastIndexOf('.') + 1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1) ?? 'A');
    const twin = `${token.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(twin.slice(twin.lastIndexOf('.') + 1), 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(await wireCodeOf(twin)).toBe(101);
    expect(() => assertCanonicalCompact('a.b.c')).toThrow();
    expect(() => assertCanonicalCompact('eyJ.eyJ.')).toThrow();
  });

  it('maxTokenLifetimeSec must be a positive integer', () => {
    expect(() => createJwtAuthenticator({ keys: [], maxTokenLifetimeSec: 0 })).toThrow(/maxTokenLifetimeSec/);
  });
});
