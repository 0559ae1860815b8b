import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { toProxyOptions } from './to-library.js';

describe('proxy.* config', () => {
  it('configures no proxy by default', () => {
    expect(toProxyOptions(loadConfig({}).proxy)).toBeUndefined();
  });

  it('reads endpoints from env and maps defaults to the "" namespace', () => {
    const config = loadConfig({
      base: {
        proxy: {
          defaults: { subscribe: { url: 'http://app/sub' } },
          namespaces: { room: { rpc: { url: 'http://app/rpc', timeoutMs: 300 } } },
        },
      },
      env: { TIDINGS_PROXY_CONNECT_URL: 'http://app/connect', TIDINGS_PROXY_COOKIES: 'session,csrf' },
    });
    expect(toProxyOptions(config.proxy)).toMatchObject({
      connect: { url: 'http://app/connect' },
      namespaces: {
        '': { subscribe: { url: 'http://app/sub' } },
        room: { rpc: { url: 'http://app/rpc', timeoutMs: 300 } },
      },
      cookies: ['session', 'csrf'],
      timeoutMs: 1000,
      retries: 1,
    });
  });

  it('rejects a URL that is not http(s), naming the option', () => {
    let message = '';
    try {
      loadConfig({ base: { proxy: { connect: { url: 'file:///etc/passwd' } } } });
    } catch (error) {
      if (!isTidingsError(error)) throw error;
      expect(error.code).toBe(TidingsErrorCode.Config);
      message = error.message;
    }
    expect(message).toContain('proxy.connect.url');
  });
});
