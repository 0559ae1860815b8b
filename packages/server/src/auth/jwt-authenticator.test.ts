import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isTidingsError } from '@tidings/protocol';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { createJwtAuthenticator } from './jwt-authenticator.js';
import { signToken } from './sign-token.js';

const secret = 'a-very-long-hmac-secret-of-at-least-32-bytes';
const otherSecret = 'another-long-hmac-secret-of-at-least-32-bytes';
const pem = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ type, format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublic = pem(rsa.publicKey, 'spki');
const rsaPrivate = pem(rsa.privateKey, 'pkcs8');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPublic = pem(ec.publicKey, 'spki');
const ecPrivate = pem(ec.privateKey, 'pkcs8');
const ed = generateKeyPairSync('ed25519');

const clock = new FakeClock(1_700_000_000_000);
const nowSec = Math.floor(clock.now() / 1000);

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; wireCode: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isTidingsError(error)) throw error;
    return { code: error.code, wireCode: error.wireCode, message: error.message };
  }
  throw new Error('expected a rejection');
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('createJwtAuthenticator: valid tokens', () => {
  const auth = createJwtAuthenticator({
    clock,
    keys: [
      { alg: 'HS256', secret },
      { alg: 'RS256', publicKey: rsaPublic },
      { alg: 'ES256', publicKey: ecPublic, kid: 'ec-1' },
      { alg: 'EdDSA', publicKey: pem(ed.publicKey, 'spki') },
    ],
  });

  it('accepts HS256 and maps claims to credentials', async () => {
    const token = await signToken(
      { sub: 'alice', info: { name: 'Alice' }, channels: ['news', 'chat:1'] },
      { alg: 'HS256', secret },
      { expiresInSec: 60, clock },
    );
    const creds = await auth.authenticate({ token });
    expect(creds.userId).toBe('alice');
    expect(creds.anonymous).toBe(false);
    expect(creds.expireAt).toBe(nowSec + 60);
    expect(creds.channels).toEqual(['news', 'chat:1']);
    expect(new TextDecoder().decode(creds.info)).toBe('{"name":"Alice"}');
  });

  it('verifies HS256, HS384 and HS512 again and again with the secret imported once per key', async () => {
    const hs = createJwtAuthenticator({
      clock,
      keys: [
        { alg: 'HS256', secret },
        { alg: 'HS384', secret: otherSecret },
        { alg: 'HS512', secret },
      ],
    });
    for (const [alg, key] of [
      ['HS256', secret],
      ['HS384', otherSecret],
      ['HS512', secret],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const token = await signToken({ sub: `u${i}` }, { alg, secret: key }, { expiresInSec: 60, clock });
        expect((await hs.authenticate({ token })).userId).toBe(`u${i}`);
      }
      const forged = await signToken(
        { sub: 'x' },
        { alg, secret: key === secret ? otherSecret : secret },
        { expiresInSec: 60, clock },
      );
      expect((await rejection(hs.authenticate({ token: forged }))).wireCode).toBe(101);
    }
  });

  it('accepts RS256, ES256 (by kid) and EdDSA', async () => {
    const rs = await signToken({ sub: 'u1' }, { alg: 'RS256', privateKey: rsaPrivate }, { expiresInSec: 60, clock });
    const es = await signToken(
      { sub: 'u2' },
      { alg: 'ES256', kid: 'ec-1', privateKey: ecPrivate },
      { expiresInSec: 60, clock },
    );
    const eddsa = await signToken(
      { sub: 'u3' },
      { alg: 'EdDSA', privateKey: pem(ed.privateKey, 'pkcs8') },
      { expiresInSec: 60, clock },
    );
    expect((await auth.authenticate({ token: rs })).userId).toBe('u1');
    expect((await auth.authenticate({ token: es })).userId).toBe('u2');
    expect((await auth.authenticate({ token: eddsa })).userId).toBe('u3');
  });

  it('treats an empty sub in a signed token as an anonymous connection', async () => {
    const token = await signToken({ sub: '' }, { alg: 'HS256', secret }, { expiresInSec: 60, clock });
    expect(await auth.authenticate({ token })).toMatchObject({ userId: '', anonymous: true, channels: [] });
  });

  it('accepts binary info as b64info', async () => {
    const token = await signToken({ sub: 'u', b64info: 'AAEC' }, { alg: 'HS256', secret }, { expiresInSec: 60, clock });
    expect(Array.from((await auth.authenticate({ token })).info ?? [])).toEqual([0, 1, 2]);
  });
});

describe('createJwtAuthenticator: rejections', () => {
  const hsOnly = createJwtAuthenticator({ clock, keys: [{ alg: 'HS256', secret }] });
  const rsOnly = createJwtAuthenticator({ clock, keys: [{ alg: 'RS256', publicKey: rsaPublic }] });
  const valid = (claims: Record<string, unknown> = {}) =>
    signToken({ sub: 'u', ...claims }, { alg: 'HS256', secret }, { expiresInSec: 60, clock });

  it('expired token → 109, even inside other checks', async () => {
    const token = await signToken({ sub: 'u', exp: nowSec - 60 }, { alg: 'HS256', secret }, { clock });
    expect(await rejection(hsOnly.authenticate({ token }))).toMatchObject({ wireCode: 109, message: 'token expired' });
  });

  it('tolerates a few seconds of clock skew', async () => {
    const token = await signToken({ sub: 'u', exp: nowSec - 2 }, { alg: 'HS256', secret }, { clock });
    expect((await hsOnly.authenticate({ token })).userId).toBe('u');
  });

  it('uses the injected clock for expiry', async () => {
    const later = new FakeClock(clock.now());
    const auth = createJwtAuthenticator({ clock: later, keys: [{ alg: 'HS256', secret }] });
    const token = await valid();
    expect((await auth.authenticate({ token })).userId).toBe('u');
    later.advance(120_000);
    expect((await rejection(auth.authenticate({ token }))).wireCode).toBe(109);
  });

  it('RS-signed token against an HS key → 101, and HS-signed against an RS key → 101', async () => {
    const rs = await signToken({ sub: 'u' }, { alg: 'RS256', privateKey: rsaPrivate }, { expiresInSec: 60, clock });
    expect((await rejection(hsOnly.authenticate({ token: rs }))).wireCode).toBe(101);
    expect((await rejection(rsOnly.authenticate({ token: await valid() }))).wireCode).toBe(101);
  });

  it('alg confusion: HS256 token keyed with the RSA public key PEM → 101', async () => {
    const forged = await new SignJWT({ sub: 'admin', exp: nowSec + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(rsaPublic));
    expect((await rejection(rsOnly.authenticate({ token: forged }))).wireCode).toBe(101);
    const withKid = createJwtAuthenticator({ clock, keys: [{ alg: 'RS256', kid: 'r', publicKey: rsaPublic }] });
    const forgedKid = await new SignJWT({ sub: 'admin', exp: nowSec + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'r' })
      .sign(new TextEncoder().encode(rsaPublic));
    expect((await rejection(withKid.authenticate({ token: forgedKid }))).wireCode).toBe(101);
  });

  it('alg none → 101', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'admin', exp: nowSec + 60 })}.`;
    const upper = `${b64url({ alg: 'NONE' })}.${b64url({ sub: 'admin', exp: nowSec + 60 })}.`;
    expect((await rejection(hsOnly.authenticate({ token: unsigned }))).wireCode).toBe(101);
    expect((await rejection(hsOnly.authenticate({ token: upper }))).wireCode).toBe(101);
  });

  it('bad signature → 101 (tampered payload and wrong secret)', async () => {
    const token = await valid();
    const [h, , s] = token.split('.');
    const tampered = `${h}.${b64url({ sub: 'admin', exp: nowSec + 60 })}.${s}`;
    expect((await rejection(hsOnly.authenticate({ token: tampered }))).wireCode).toBe(101);
    const wrong = await signToken({ sub: 'u' }, { alg: 'HS256', secret: otherSecret }, { expiresInSec: 60, clock });
    expect((await rejection(hsOnly.authenticate({ token: wrong }))).wireCode).toBe(101);
  });

  it('missing exp → 101 by default, accepted when requireExp is false', async () => {
    const token = await signToken({ sub: 'u' }, { alg: 'HS256', secret }, { clock });
    expect((await rejection(hsOnly.authenticate({ token }))).wireCode).toBe(101);
    const lax = createJwtAuthenticator({ clock, requireExp: false, keys: [{ alg: 'HS256', secret }] });
    const creds = await lax.authenticate({ token });
    expect(creds.userId).toBe('u');
    expect(creds.expireAt).toBeUndefined();
  });

  it('checks aud and iss when configured', async () => {
    const strict = createJwtAuthenticator({
      clock,
      audience: 'tidings',
      issuer: 'backend',
      keys: [{ alg: 'HS256', secret }],
    });
    expect((await strict.authenticate({ token: await valid({ aud: 'tidings', iss: 'backend' }) })).userId).toBe('u');
    expect(
      (await rejection(strict.authenticate({ token: await valid({ aud: 'other', iss: 'backend' }) }))).wireCode,
    ).toBe(101);
    expect(
      (await rejection(strict.authenticate({ token: await valid({ aud: 'tidings', iss: 'other' }) }))).wireCode,
    ).toBe(101);
    expect((await rejection(strict.authenticate({ token: await valid() }))).wireCode).toBe(101);
  });

  it('malformed strings → 101', async () => {
    for (const token of ['x', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9', `${b64url({ alg: 'HS256' })}.!!.x`]) {
      expect((await rejection(hsOnly.authenticate({ token }))).wireCode).toBe(101);
    }
  });

  it('malformed claims → 101: no sub, channels not strings, a channel claim', async () => {
    const noSub = await signToken({}, { alg: 'HS256', secret }, { expiresInSec: 60, clock });
    expect((await rejection(hsOnly.authenticate({ token: noSub }))).wireCode).toBe(101);
    expect((await rejection(hsOnly.authenticate({ token: await valid({ channels: 'news' }) }))).wireCode).toBe(101);
    expect((await rejection(hsOnly.authenticate({ token: await valid({ channels: ['ok', 1] }) }))).wireCode).toBe(101);
    expect((await rejection(hsOnly.authenticate({ token: await valid({ channel: 'news' }) }))).wireCode).toBe(101);
  });

  it('a token whose kid names no key falls back only to kid-less keys of its alg', async () => {
    const auth = createJwtAuthenticator({
      clock,
      keys: [
        { alg: 'HS256', kid: 'k1', secret },
        { alg: 'HS256', secret: otherSecret },
      ],
    });
    const k1 = await signToken({ sub: 'a' }, { alg: 'HS256', kid: 'k1', secret }, { expiresInSec: 60, clock });
    const unknownKid = await signToken(
      { sub: 'b' },
      { alg: 'HS256', kid: 'zz', secret: otherSecret },
      { expiresInSec: 60, clock },
    );
    const unknownKidWrongKey = await signToken(
      { sub: 'c' },
      { alg: 'HS256', kid: 'zz', secret },
      { expiresInSec: 60, clock },
    );
    const noKid = await signToken({ sub: 'd' }, { alg: 'HS256', secret }, { expiresInSec: 60, clock });
    expect((await auth.authenticate({ token: k1 })).userId).toBe('a');
    expect((await auth.authenticate({ token: unknownKid })).userId).toBe('b');
    expect((await rejection(auth.authenticate({ token: unknownKidWrongKey }))).wireCode).toBe(101);
    expect((await auth.authenticate({ token: noKid })).userId).toBe('d');
  });

  it('never echoes the token or the secret in the error', async () => {
    const token = await signToken({ sub: 'u' }, { alg: 'HS256', secret: otherSecret }, { expiresInSec: 60, clock });
    try {
      await hsOnly.authenticate({ token });
      expect.unreachable();
    } catch (error) {
      const text = `${String(error)} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
      expect(text).not.toContain(token.split('.')[1]);
      expect(text).not.toContain(secret);
    }
  });
});

describe('anonymous connections', () => {
  it('no token → anonymous credentials when allowed', async () => {
    const auth = createJwtAuthenticator({ clock, allowAnonymous: true, keys: [] });
    expect(await auth.authenticate({})).toEqual({ userId: '', anonymous: true, channels: [] });
    expect(await auth.authenticate({ token: '' })).toMatchObject({ anonymous: true });
  });

  it('with no keys configured every token is rejected (101)', async () => {
    const auth = createJwtAuthenticator({ clock, allowAnonymous: true, keys: [] });
    const token = await signToken({ sub: 'u' }, { alg: 'HS256', secret }, { expiresInSec: 60, clock });
    expect((await rejection(auth.authenticate({ token }))).wireCode).toBe(101);
  });

  it('no token → 101 when not allowed', async () => {
    const auth = createJwtAuthenticator({ clock, keys: [{ alg: 'HS256', secret }] });
    expect((await rejection(auth.authenticate({}))).wireCode).toBe(101);
  });
});

describe('subscription tokens', () => {
  const auth = createJwtAuthenticator({ clock, keys: [{ alg: 'HS256', secret }] });
  const context = { client: 'c1', userId: 'alice', channel: 'chat:1' };
  const sub = (claims: Record<string, unknown>) =>
    signToken(claims, { alg: 'HS256', secret }, { expiresInSec: 60, clock });

  it('grants with exp and info', async () => {
    const grant = await auth.verifySubscriptionToken(
      await sub({ sub: 'alice', channel: 'chat:1', info: [1] }),
      context,
    );
    expect(grant.expireAt).toBe(nowSec + 60);
    expect(new TextDecoder().decode(grant.info)).toBe('[1]');
  });

  it('channel or user mismatch → 103; missing channel claim → 101; expired → 109', async () => {
    const other = await sub({ sub: 'alice', channel: 'chat:2' });
    expect((await rejection(auth.verifySubscriptionToken(other, context))).wireCode).toBe(103);
    const bob = await sub({ sub: 'bob', channel: 'chat:1' });
    expect((await rejection(auth.verifySubscriptionToken(bob, context))).wireCode).toBe(103);
    const connToken = await sub({ sub: 'alice' });
    expect((await rejection(auth.verifySubscriptionToken(connToken, context))).wireCode).toBe(101);
    const expired = await signToken({ sub: 'alice', channel: 'chat:1', exp: nowSec - 60 }, { alg: 'HS256', secret });
    expect((await rejection(auth.verifySubscriptionToken(expired, context))).wireCode).toBe(109);
  });
});
