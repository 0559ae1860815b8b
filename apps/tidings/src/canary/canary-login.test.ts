import type { Authenticator, TidingsHooks } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { CanaryLogin, canaryUser } from './canary-login.js';

const refused = new Error('refused by the inner authenticator');
const inner: Authenticator = {
  authenticate: async () => {
    throw refused;
  },
  verifySubscriptionToken: async () => ({}),
};

describe('CanaryLogin', () => {
  it('logs a canary token in as the canary user, subscribed to that canary only', async () => {
    const login = new CanaryLogin();
    const auth = login.wrapAuthenticator(inner);
    expect(await auth.authenticate({ token: login.token('node-1') })).toEqual({
      userId: canaryUser,
      anonymous: false,
      channels: ['$tidings:canary.node-1'],
    });
    // One-way streams carry it as a bearer header.
    const viaHeader = await auth.authenticate({ headers: { authorization: `Bearer ${login.token('w2')}` } });
    expect(viaHeader.channels).toEqual(['$tidings:canary.w2']);
  });

  it('hands every other token to the inner authenticator', async () => {
    const login = new CanaryLogin();
    const other = new CanaryLogin();
    const auth = login.wrapAuthenticator(inner);
    const token = login.token('node-1');
    for (const bad of [
      other.token('node-1'), // another secret
      `${token.slice(0, -6)}.bad/id`, // an id that is not a channel-safe name
      token.replace('.', ''), // no separator
      `x${token}`, // secret of the wrong length
      'a.jwt.token',
    ]) {
      await expect(auth.authenticate({ token: bad })).rejects.toBe(refused);
    }
    await expect(auth.authenticate({})).rejects.toBe(refused);
  });

  it('workers sharing a secret accept each other’s canary clients', async () => {
    const secret = 'shared-secret-made-by-the-primary-0123456789';
    const a = new CanaryLogin(secret);
    const b = new CanaryLogin(secret);
    const creds = await b.wrapAuthenticator(inner).authenticate({ token: a.token('worker-a') });
    expect(creds.channels).toEqual(['$tidings:canary.worker-a']);
  });

  it('keeps canary connections away from a connect proxy', async () => {
    const login = new CanaryLogin();
    const asked: string[] = [];
    const hooks: TidingsHooks = {
      onConnecting: (ctx) => {
        asked.push(ctx.token ?? '');
        return { user: 'from-proxy' };
      },
    };
    const wrapped = login.wrapHooks(hooks);
    const ctx = (token: string | undefined, authorization?: string) =>
      ({
        client: 'c',
        transport: 'websocket',
        protocol: 'json',
        ...(token === undefined ? {} : { token }),
        requestHeaders: authorization === undefined ? {} : { authorization },
      }) as unknown as Parameters<NonNullable<TidingsHooks['onConnecting']>>[0];
    expect(await wrapped.onConnecting?.(ctx(login.token('n')))).toBeUndefined();
    expect(await wrapped.onConnecting?.(ctx(undefined, `Bearer ${login.token('n')}`))).toBeUndefined();
    expect(await wrapped.onConnecting?.(ctx('app-token'))).toEqual({ user: 'from-proxy' });
    expect(asked).toEqual(['app-token']);
    expect(login.wrapHooks({})).toEqual({});
  });
});
