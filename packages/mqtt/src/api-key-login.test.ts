import type { Authenticator } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { apiKeyLoginHeader, withApiKeyLogin } from './api-key-login.js';

const inner: Authenticator = {
  authenticate: async (req) => ({ userId: `jwt:${req.token ?? ''}`, anonymous: false, channels: [] }),
  verifySubscriptionToken: async () => ({}),
};

describe('withApiKeyLogin', () => {
  const auth = withApiKeyLogin(inner, ['key-one-0123456789', 'key-two-0123456789']);

  it('authenticates a configured key as user api-key, never anonymous', async () => {
    const c = await auth.authenticate({ headers: { [apiKeyLoginHeader]: 'key-two-0123456789' } });
    expect(c).toEqual({ userId: 'api-key', anonymous: false, channels: [] });
  });

  it('refuses a wrong key with wire 101 and does not fall back to the token', async () => {
    await expect(auth.authenticate({ token: 't', headers: { [apiKeyLoginHeader]: 'nope' } })).rejects.toMatchObject({
      wireCode: 101,
    });
  });

  it('leaves every other connection to the inner authenticator', async () => {
    expect((await auth.authenticate({ token: 'abc' })).userId).toBe('jwt:abc');
  });

  it('rejects a blank key at start-up', () => {
    expect(() => withApiKeyLogin(inner, [''])).toThrow(/api.keys\[0\]/);
  });
});
