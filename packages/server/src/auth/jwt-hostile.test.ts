import { createHmac, generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { isTidingsError } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../internal/clock.js';
import { createJwtAuthenticator } from './jwt-authenticator.js';

// Hostile-input battery (issue 15): every token below must be refused with its documented code
// (109 for expiry alone, 101 for everything else) and none may authenticate.

const secret = 'battery-hmac-secret-of-at-least-32-bytes!';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const clock = new FakeClock(1_700_000_000_000);
const now = Math.floor(clock.now() / 1000);
const auth = createJwtAuthenticator({
  clock,
  audience: 'tidings',
  issuer: 'https://issuer.example',
  keys: [
    { alg: 'HS256', secret, kid: 'hs' },
    { alg: 'RS256', publicKey: rsaPublicPem, kid: 'rs' },
  ],
});

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const good = { sub: 'u', aud: 'tidings', iss: 'https://issuer.example', exp: now + 60 };
const hs = (header: object, payload: unknown, key: string | Buffer = secret): string => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};
const rs = (header: object, payload: unknown, key = rsa.privateKey): string => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), key).toString('base64url')}`;
};
const H = { alg: 'HS256', typ: 'JWT', kid: 'hs' };
const valid = hs(H, good);
const [vh, vp, vs] = valid.split('.') as [string, string, string];
const bigClaims = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, i]));

const battery: Array<[name: string, token: string, wire: 101 | 109]> = [
  // alg none and its spellings
  ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, string, 101] => [
    `alg ${alg}, empty signature`,
    `${b64({ alg })}.${b64(good)}.`,
    101,
  ]),
  ['alg none with a signature', `${b64({ alg: 'none' })}.${vp}.${vs}`, 101],
  ['alg missing', hs({ typ: 'JWT' }, good), 101],
  ['alg not a string', hs({ alg: 256 }, good), 101],
  ['alg lower-case hs256', hs({ alg: 'hs256', kid: 'hs' }, good), 101],
  ['alg with a trailing space', hs({ alg: 'HS256 ', kid: 'hs' }, good), 101],
  ['alg HS512 no key has', hs({ alg: 'HS512' }, good), 101],
  // HS/RS confusion
  ['HS256 signed with the RSA public key PEM', hs({ alg: 'HS256' }, good, rsaPublicPem), 101],
  ['HS256 signed with the RSA public PEM, kid rs', hs({ alg: 'HS256', kid: 'rs' }, good, rsaPublicPem), 101],
  ['RS256 header over an HMAC signature', hs({ alg: 'RS256', kid: 'rs' }, good), 101],
  ['HS256 with kid rs and the right secret', hs({ alg: 'HS256', kid: 'rs' }, good), 101],
  ['RS256 with kid hs', rs({ alg: 'RS256', kid: 'hs' }, good), 101],
  ['RS256 signed by an attacker key', rs({ alg: 'RS256', kid: 'rs' }, good, attacker.privateKey), 101],
  ['PS256 header, RSA key', rs({ alg: 'PS256', kid: 'rs' }, good), 101],
  // kid, jku, jwk, x5u tricks
  ['kid path traversal', hs({ alg: 'HS256', kid: '../../../../dev/null' }, good, ''), 101],
  ['kid SQL', hs({ alg: 'HS256', kid: "' OR 1=1 --" }, good, 'x'), 101],
  ['kid 100 KB long', hs({ alg: 'HS256', kid: 'k'.repeat(100_000) }, good, 'x'), 101],
  ['kid a number', hs({ alg: 'HS256', kid: 7 }, good, 'x'), 101],
  ['kid null with a wrong secret', hs({ alg: 'HS256', kid: null }, good, 'x'), 101],
  [
    'embedded jwk of the attacker',
    rs({ alg: 'RS256', jwk: attacker.publicKey.export({ format: 'jwk' }) }, good, attacker.privateKey),
    101,
  ],
  ['jku to an attacker URL', rs({ alg: 'RS256', jku: 'https://evil.example/jwks' }, good, attacker.privateKey), 101],
  ['x5u to an attacker URL', rs({ alg: 'RS256', x5u: 'https://evil.example/cert' }, good, attacker.privateKey), 101],
  ['crit with an unknown extension', hs({ ...H, crit: ['exp-ext'], 'exp-ext': 1 }, good), 101],
  ['b64 false (unencoded payload)', hs({ ...H, b64: false, crit: ['b64'] }, good), 101],
  // audience and issuer
  ['wrong aud', hs(H, { ...good, aud: 'other' }), 101],
  ['aud missing', hs(H, { ...good, aud: undefined }), 101],
  ['aud list without ours', hs(H, { ...good, aud: ['a', 'b'] }), 101],
  ['aud an object', hs(H, { ...good, aud: { tidings: true } }), 101],
  ['wrong iss', hs(H, { ...good, iss: 'https://evil.example' }), 101],
  ['iss missing', hs(H, { ...good, iss: undefined }), 101],
  ['iss with a trailing slash', hs(H, { ...good, iss: 'https://issuer.example/' }), 101],
  // time claims
  ['expired', hs(H, { ...good, exp: now - 3600 }), 109],
  ['expired at 0', hs(H, { ...good, exp: 0 }), 109],
  ['expired negative', hs(H, { ...good, exp: -1 }), 109],
  ['exp missing', hs(H, { ...good, exp: undefined }), 101],
  ['exp a string', hs(H, { ...good, exp: String(now + 60) }), 101],
  ['exp null', hs(H, { ...good, exp: null }), 101],
  ['exp 1e308', hs(H, { ...good, exp: 1e308 }), 101],
  ['exp a year ahead', hs(H, { ...good, exp: now + 365 * 86400 }), 101],
  ['nbf in the future', hs(H, { ...good, nbf: now + 600 }), 101],
  ['nbf a string', hs(H, { ...good, nbf: 'now' }), 101],
  ['iat in the future', hs(H, { ...good, iat: now + 600 }), 101],
  ['iat a string', hs(H, { ...good, iat: 'now' }), 101],
  // claims
  ['sub missing', hs(H, { ...good, sub: undefined }), 101],
  ['sub a number', hs(H, { ...good, sub: 42 }), 101],
  ['channels not a list', hs(H, { ...good, channels: 'news' }), 101],
  ['channels with an empty name', hs(H, { ...good, channels: [''] }), 101],
  ['info and b64info both', hs(H, { ...good, info: {}, b64info: 'AA==' }), 101],
  ['b64info not base64', hs(H, { ...good, b64info: '!!' }), 101],
  ['subscription token used to connect', hs(H, { ...good, channel: 'room:a' }), 101],
  ['10,000 claims, wrong signature', hs(H, { ...good, ...bigClaims }, 'x'), 101],
  ['1 MB payload, wrong signature', hs(H, { ...good, pad: 'x'.repeat(1_000_000) }, 'x'), 101],
  ['payload an array', hs(H, [good]), 101],
  ['payload null', hs(H, 'null'), 101],
  ['payload not JSON', hs(H, 'not json'), 101],
  ['header not JSON', `${b64('{alg:')}.${vp}.${vs}`, 101],
  ['header an array', hs([H] as unknown as object, good), 101],
  // encoding and shape
  ['empty string', '', 101],
  ['one dot', '.', 101],
  ['two dots', '..', 101],
  ['two parts', `${vh}.${vp}`, 101],
  ['four parts', `${valid}.${vs}`, 101],
  ['JWE-shaped five parts', `${vh}.${vp}.${vs}.${vs}.${vs}`, 101],
  ['signature stripped', `${vh}.${vp}.`, 101],
  ['"=" padding on the signature', `${valid}=`, 101],
  ['"=" padding on the payload', `${vh}.${vp}=.${vs}`, 101],
  [
    'standard base64 alphabet',
    valid.replaceAll('-', '+').replaceAll('_', '/') + (valid.includes('-') || valid.includes('_') ? '' : '+'),
    101,
  ],
  ['leading whitespace', ` ${valid}`, 101],
  ['NUL inside', `${vh}.${vp}\u0000.${vs}`, 101],
  ['Unicode look-alike dot', valid.replace('.', '\u2024'), 101],
  ['payload swapped under a valid signature', `${vh}.${b64({ ...good, sub: 'admin' })}.${vs}`, 101],
  ['signature of another token', `${vh}.${vp}.${hs(H, { ...good, sub: 'v' }).split('.')[2]}`, 101],
];

async function wireOf(token: string): Promise<number | undefined> {
  try {
    await auth.authenticate({ token });
  } catch (error) {
    if (!isTidingsError(error)) throw error;
    return error.wireCode;
  }
  return undefined;
}

describe('hostile JWT battery', () => {
  it('the control token is accepted', async () => {
    expect((await auth.authenticate({ token: valid })).userId).toBe('u');
  });

  it(`refuses all ${battery.length} hostile tokens with their documented code`, async () => {
    const results: Array<[string, number | undefined, number]> = [];
    for (const [name, token, wire] of battery) results.push([name, await wireOf(token), wire]);
    console.log(`hostile JWT battery: ${results.length} tokens tried`);
    expect(results.filter(([, got, want]) => got !== want)).toEqual([]);
    expect(battery.length).toBeGreaterThanOrEqual(60);
  }, 60_000);
});
