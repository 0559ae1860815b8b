import { isTidingsError } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from './dev-profile.js';

let counter = 0;
// Deterministic "random" bytes so the generated secrets are known to the test.
const fakeRandom = (size: number) => Buffer.alloc(size, ++counter);

describe('resolveServeConfig', () => {
  it('runs the development profile without a file', () => {
    const resolved = resolveServeConfig({ env: {}, random: fakeRandom });
    expect(resolved.profile).toBe('development');
    if (resolved.profile !== 'development') return;
    const { config, secrets } = resolved;
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.client.allowAnonymous).toBe(true);
    expect(secrets.apiKey).toMatch(/^[\w-]{32}$/);
    expect(secrets.hmacSecret).toMatch(/^[\w-]{43}$/);
    expect(config.api.keys).toEqual([secrets.apiKey]);
    expect(config.auth.keys).toEqual([{ kid: 'dev', alg: 'HS256', secret: secrets.hmacSecret }]);
    expect(config.channels.namespaces.demo).toMatchObject({
      historySize: 100,
      historyTtlMs: 600_000,
      allowRecovery: true,
      presence: true,
      joinLeave: true,
      allowSubscribeForAnonymous: true,
      allowSubscribeForClient: true,
      allowPublishForSubscriber: true,
      allowPublishForAnonymous: false,
    });
    expect(config.channels.defaults.allowSubscribeForAnonymous).toBe(false);
    expect(config.canary.enabled).toBe(true);
    expect(secrets.adminPassword).toMatch(/^[\w-]{16}$/);
    expect(config.admin.password).toBe(secrets.adminPassword);
  });

  it('takes the admin password from TIDINGS_ADMIN_PASSWORD, and then shows none', () => {
    const resolved = resolveServeConfig({ env: { TIDINGS_ADMIN_PASSWORD: 'my-own-admin-password' } });
    if (resolved.profile !== 'development') throw new Error('expected the development profile');
    expect(resolved.config.admin.password).toBe('my-own-admin-password');
    expect(resolved.secrets.adminPassword).toBeUndefined();
  });

  it('generates fresh secrets on every start', () => {
    const a = resolveServeConfig({ env: {} });
    const b = resolveServeConfig({ env: {} });
    if (a.profile !== 'development' || b.profile !== 'development') throw new Error('expected dev profiles');
    expect(a.secrets.apiKey).not.toBe(b.secrets.apiKey);
    expect(a.secrets.hmacSecret).not.toBe(b.secrets.hmacSecret);
  });

  it('lets env and flags tune the profile, and drops generated secrets they replace', () => {
    const resolved = resolveServeConfig({
      env: { TIDINGS_API_KEYS: 'my-own-api-key-0123456789' },
      flags: [{ path: 'http.port', value: '0', source: '--port' }],
    });
    if (resolved.profile !== 'development') throw new Error('expected the dev profile');
    expect(resolved.config.http.port).toBe(0);
    expect(resolved.secrets.apiKey).toBeUndefined();
    expect(resolved.secrets.hmacSecret).toBeDefined();
  });

  it('refuses to expose the development profile beyond loopback', () => {
    expect(() => resolveServeConfig({ env: { TIDINGS_HTTP_HOST: '0.0.0.0' } })).toThrow(
      /only binds loopback, got "0.0.0.0"; pass --config FILE/,
    );
    for (const host of ['::1', 'localhost', '127.0.0.2']) {
      expect(
        resolveServeConfig({ env: {}, flags: [{ path: 'http.host', value: host, source: '--host' }] }).config.http.host,
      ).toBe(host);
    }
  });

  it('is deny-by-default with a file', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'tidings-dev-')), 'empty.json');
    writeFileSync(file, '{}');
    const resolved = resolveServeConfig({ file, env: {} });
    expect(resolved.profile).toBe('file');
    expect(resolved.config.client.allowAnonymous).toBe(false);
    expect(resolved.config.api.keys).toEqual([]);
    expect(resolved.config.auth.keys).toEqual([]);
    expect(resolved.config.channels.namespaces).toEqual({});
    try {
      resolveServeConfig({ file, env: { TIDINGS_HTTP_PORT: 'x' } });
      throw new Error('expected a config error');
    } catch (error) {
      expect(isTidingsError(error)).toBe(true);
    }
  });
});
