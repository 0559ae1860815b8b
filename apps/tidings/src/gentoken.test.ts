import { generateKeyPairSync } from 'node:crypto';
import { createJwtAuthenticator } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { generateConfig } from './config/genconfig.js';
import { loadConfig } from './config/load.js';
import { toAuthenticatorOptions } from './config/to-library.js';
import { generateToken } from './gentoken.js';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('gentoken', () => {
  it('signs a token that the configured authenticator accepts', async () => {
    const config = generateConfig();
    const token = await generateToken(config, { user: 'alice', ttlSec: 600, channels: ['chat:room'] });
    const credentials = await createJwtAuthenticator(toAuthenticatorOptions(config)).authenticate({ token });
    expect(credentials.userId).toBe('alice');
    expect(credentials.anonymous).toBe(false);
    expect(credentials.channels).toEqual(['chat:room']);
    const claims = claimsOf(token);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(600);
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
    expect(header.kid).toBe('k1');
  });

  it('includes the configured audience and issuer', async () => {
    const config = loadConfig({
      env: { TIDINGS_AUTH_HMAC_SECRET: 'x'.repeat(32), TIDINGS_AUTH_AUDIENCE: 'aud-1', TIDINGS_AUTH_ISSUER: 'iss-1' },
    });
    const token = await generateToken(config, { user: 'bob', ttlSec: 60 });
    expect(claimsOf(token)).toMatchObject({ sub: 'bob', aud: 'aud-1', iss: 'iss-1' });
    await expect(createJwtAuthenticator(toAuthenticatorOptions(config)).authenticate({ token })).resolves.toMatchObject(
      {
        userId: 'bob',
      },
    );
  });

  it('signs for an asymmetric key only with its private key', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const config = loadConfig({ env: { TIDINGS_AUTH_KEYS: JSON.stringify([{ kid: 'ec', alg: 'ES256', publicKey }]) } });
    await expect(generateToken(config, { user: 'carol', ttlSec: 60 })).rejects.toThrow(/--private-key FILE/);
    const token = await generateToken(config, { user: 'carol', ttlSec: 60, privateKey });
    await expect(createJwtAuthenticator(toAuthenticatorOptions(config)).authenticate({ token })).resolves.toMatchObject(
      {
        userId: 'carol',
      },
    );
  });

  it('explains what is missing', async () => {
    const config = generateConfig();
    await expect(generateToken(loadConfig(), { user: 'a', ttlSec: 60 })).rejects.toThrow(/auth.keys is empty/);
    await expect(generateToken(config, { user: '', ttlSec: 60 })).rejects.toThrow(/--user must not be empty/);
    await expect(generateToken(config, { user: 'a', ttlSec: 0 })).rejects.toThrow(/--ttl/);
    await expect(generateToken(config, { user: 'a', ttlSec: 60, kid: 'nope' })).rejects.toThrow(
      /no key with kid "nope"/,
    );
  });
});
