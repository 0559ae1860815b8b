import { generateKeyPairSync } from 'node:crypto';
import { isTidingsError } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from './jwt-authenticator.js';
import type { JwtKeyConfig } from './jwt-keys.js';
import { signToken } from './sign-token.js';

const secret = 'a-very-long-hmac-secret-of-at-least-32-bytes';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublic = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const rsaPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ec384Public = ec384.publicKey.export({ type: 'spki', format: 'pem' }).toString();

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isTidingsError(error) && error.code === 'TIDINGS_ERR_CONFIG') return error.message;
    throw error;
  }
  throw new Error('expected a config error');
}

const build = (keys: JwtKeyConfig[]) => () => createJwtAuthenticator({ keys });

describe('key configuration is validated at construction', () => {
  it('names the key index and field', () => {
    const message = configError(
      build([
        { alg: 'HS256', secret },
        { alg: 'RS256', publicKey: 'not a pem' },
      ]),
    );
    expect(message).toMatch(/^auth\.keys\[1\]\.publicKey: /);
  });

  it('rejects an unknown alg and none', () => {
    expect(configError(build([{ alg: 'PS256' } as unknown as JwtKeyConfig]))).toMatch(/^auth\.keys\[0\]\.alg: /);
    expect(configError(build([{ alg: 'none' } as unknown as JwtKeyConfig]))).toMatch(/^auth\.keys\[0\]\.alg: /);
  });

  it('rejects an HMAC secret shorter than 32 bytes, or none', () => {
    expect(configError(build([{ alg: 'HS256', secret: 'short' }]))).toMatch(/^auth\.keys\[0\]\.secret: .*32 bytes/);
    expect(configError(build([{ alg: 'HS512' }]))).toMatch(/^auth\.keys\[0\]\.secret: /);
  });

  it('rejects a PEM that does not parse, a private key, and a key of the wrong type', () => {
    const broken = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
    expect(configError(build([{ alg: 'RS256', publicKey: broken }]))).toMatch(/could not be parsed/);
    expect(configError(build([{ alg: 'RS256', publicKey: rsaPrivate }]))).toMatch(/SPKI/);
    expect(configError(build([{ alg: 'ES256', publicKey: rsaPublic }]))).toMatch(/needs an EC key/);
    expect(configError(build([{ alg: 'ES256', publicKey: ec384Public }]))).toMatch(/curve/);
    expect(configError(build([{ alg: 'RS256', publicKey: ec384Public }]))).toMatch(/needs an RSA key/);
    expect(configError(build([{ alg: 'EdDSA', publicKey: rsaPublic }]))).toMatch(/Ed25519/);
  });

  it('accepts ES384 with a P-384 key', () => {
    expect(() => build([{ alg: 'ES384', publicKey: ec384Public }])()).not.toThrow();
  });

  it('rejects a secret on an asymmetric key and a public key on an HMAC key', () => {
    expect(configError(build([{ alg: 'RS256', publicKey: rsaPublic, secret }]))).toMatch(/^auth\.keys\[0\]\.secret: /);
    expect(configError(build([{ alg: 'HS256', secret, publicKey: rsaPublic }]))).toMatch(
      /^auth\.keys\[0\]\.publicKey: /,
    );
  });

  it('rejects duplicate kids', () => {
    const dup = build([
      { alg: 'HS256', kid: 'a', secret },
      { alg: 'HS384', kid: 'a', secret },
    ]);
    expect(configError(dup)).toMatch(/^auth\.keys\[1\]\.kid: duplicate/);
  });

  it('never echoes the secret or the PEM', () => {
    const shortSecret = 'tiny-secret-value';
    expect(configError(build([{ alg: 'HS256', secret: shortSecret }]))).not.toContain(shortSecret);
    const broken = '-----BEGIN PUBLIC KEY-----\nQUJDREVGRw==\n-----END PUBLIC KEY-----\n';
    expect(configError(build([{ alg: 'RS256', publicKey: broken }]))).not.toContain('QUJDREVGRw');
  });

  it('honours a custom config path', () => {
    const message = configError(() =>
      createJwtAuthenticator({ configPath: 'tenants.a.auth', keys: [{ alg: 'HS256' }] }),
    );
    expect(message).toMatch(/^tenants\.a\.auth\.keys\[0\]\.secret: /);
  });
});

describe('signToken', () => {
  it('refuses unknown algorithms, short secrets and mismatched private keys', async () => {
    await expect(signToken({ sub: 'u' }, { alg: 'none', secret })).rejects.toThrow(/key\.alg/);
    await expect(signToken({ sub: 'u' }, { alg: 'HS256', secret: 'short' })).rejects.toThrow(/key\.secret/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPrivate = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(signToken({ sub: 'u' }, { alg: 'RS256', privateKey: ecPrivate })).rejects.toThrow(/key\.privateKey/);
    await expect(signToken({ sub: 'u' }, { alg: 'RS256', privateKey: rsaPublic })).rejects.toThrow(/key\.privateKey/);
  });

  it('writes alg, typ and kid in the header and keeps an explicit exp', async () => {
    const token = await signToken(
      { sub: 'u', exp: 123 },
      { alg: 'RS256', kid: 'k', privateKey: rsaPrivate },
      { expiresInSec: 60 },
    );
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'k' });
    expect(payload.exp).toBe(123);
    expect(typeof payload.iat).toBe('number');
  });
});
