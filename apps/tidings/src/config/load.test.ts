import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { toClientOptions } from './to-library.js';

const dir = mkdtempSync(join(tmpdir(), 'tidings-config-'));
let fileCount = 0;
function file(content: unknown): string {
  const path = join(dir, `config-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isTidingsError(error)).toBe(true);
    if (!isTidingsError(error)) throw error;
    expect(error.code).toBe(TidingsErrorCode.Config);
    return error.message;
  }
  throw new Error('expected a config error');
}

const secret = 's'.repeat(40);

describe('loadConfig precedence', () => {
  it('fills every default when given nothing', () => {
    const config = loadConfig();
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8000,
      backlog: 4096,
      maxHeaderBytes: 16_384,
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 60_000,
      shutdownTimeoutMs: 10_000,
      compression: false,
      h2c: false,
      maxStreamsPerConnection: 100,
    });
    expect(config.client.maxQueueBytes).toBe(1024 * 1024);
    expect(config.client.allowAnonymous).toBe(false);
    expect(config.websocket.path).toBe('/connection/websocket');
    expect(config.auth).toEqual({ keys: [], requireExp: true, maxTokenLifetimeSec: 2_592_000 });
    expect(config.channels.namespaces).toEqual({});
    expect(config.channels.defaults.allowSubscribeForClient).toBe(false);
    expect(config.engine).toEqual({ type: 'memory' });
  });

  it('layers defaults < base < file < env < flags', () => {
    const config = loadConfig({
      base: { http: { port: 1 }, log: { level: 'debug' }, client: { maxSubscriptions: 5 } },
      file: file({ http: { port: 2, host: '0.0.0.0' }, log: { level: 'warn' } }),
      env: { TIDINGS_HTTP_PORT: '3', TIDINGS_HTTP_HOST: '::1' },
      flags: [{ path: 'http.port', value: '4', source: '--port' }],
    });
    expect(config.http.port).toBe(4);
    expect(config.http.host).toBe('::1');
    expect(config.log.level).toBe('warn');
    expect(config.client.maxSubscriptions).toBe(5);
    expect(config.client.pingIntervalMs).toBe(25_000);
  });

  it('merges objects key by key and replaces lists', () => {
    const config = loadConfig({
      base: {
        websocket: { allowedOrigins: ['https://a.example'] },
        channels: { namespaces: { a: { presence: true } } },
      },
      file: file({ websocket: { allowedOrigins: ['https://b.example'] }, channels: { namespaces: { b: {} } } }),
    });
    expect(config.websocket.allowedOrigins).toEqual(['https://b.example']);
    expect(Object.keys(config.channels.namespaces).sort()).toEqual(['a', 'b']);
    expect(config.channels.namespaces.a?.presence).toBe(true);
  });

  it('returns a deeply frozen config', () => {
    const config = loadConfig({ file: file({ api: { keys: ['k'.repeat(16)] } }) });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.api.keys)).toBe(true);
    expect(Object.isFrozen(config.channels.defaults)).toBe(true);
  });
});

describe('env mapping', () => {
  it('converts numbers, booleans, comma-separated lists and JSON', () => {
    const config = loadConfig({
      env: {
        TIDINGS_CLIENT_PING_INTERVAL_MS: '30000',
        TIDINGS_CLIENT_ALLOW_ANONYMOUS: 'true',
        TIDINGS_WEBSOCKET_COMPRESSION: '0',
        TIDINGS_API_KEYS: ' key-one-0123456789, key-two-0123456789 ',
        TIDINGS_CHANNELS_NAMESPACES: '{"chat":{"presence":true}}',
        TIDINGS_AUTH_KEYS: JSON.stringify([{ kid: 'a', alg: 'HS512', secret }]),
        TIDINGS_LOG_PRETTY: 'false',
        TIDINGS_IDEMPOTENCY_WINDOW_MS: '1000',
        TIDINGS_CHANNELS_DEFAULTS_HISTORY_SIZE: '10',
        TIDINGS_CHANNELS_DEFAULTS_HISTORY_TTL_MS: '60000',
      },
    });
    expect(config.client.pingIntervalMs).toBe(30_000);
    expect(config.client.allowAnonymous).toBe(true);
    expect(config.websocket.compression).toBe(false);
    expect(config.api.keys).toEqual(['key-one-0123456789', 'key-two-0123456789']);
    expect(config.channels.namespaces.chat?.presence).toBe(true);
    expect(config.auth.keys).toEqual([{ kid: 'a', alg: 'HS512', secret }]);
    expect(config.log.pretty).toBe(false);
    expect(config.idempotencyWindowMs).toBe(1000);
    expect(config.channels.defaults.historySize).toBe(10);
  });

  it('treats TIDINGS_AUTH_HMAC_SECRET as one more HS256 key', () => {
    const config = loadConfig({
      file: file({ auth: { keys: [{ kid: 'file', alg: 'HS256', secret: 'f'.repeat(32) }] } }),
      env: { TIDINGS_AUTH_HMAC_SECRET: secret },
    });
    expect(config.auth.keys).toEqual([
      { kid: 'file', alg: 'HS256', secret: 'f'.repeat(32) },
      { alg: 'HS256', secret },
    ]);
  });

  it('ignores empty values and unrelated variables', () => {
    const config = loadConfig({ env: { TIDINGS_HTTP_PORT: '', PATH: '/bin', HTTP_PORT: '1' } });
    expect(config.http.port).toBe(8000);
  });
});

describe('config errors', () => {
  it('rejects unknown keys in the file, suggesting the closest option', () => {
    const path = file({ http: { prot: 9000 }, clinet: {} });
    const message = configErrorOf(() => loadConfig({ file: path }));
    expect(message).toContain(`http.prot: unknown option (did you mean "port"?) (in ${path})`);
    expect(message).toContain('clinet: unknown option (did you mean "client"?)');
  });

  it('names the path, the expectation, the value and its source', () => {
    const message = configErrorOf(() => loadConfig({ env: { TIDINGS_HTTP_PORT: 'abc' } }));
    expect(message).toContain('http.port: expected an integer between 0 and 65535, got "abc" (from TIDINGS_HTTP_PORT)');
    const flagMessage = configErrorOf(() =>
      loadConfig({ flags: [{ path: 'http.port', value: '70000', source: '--port' }] }),
    );
    expect(flagMessage).toContain('http.port: expected an integer between 0 and 65535, got 70000 (from --port)');
  });

  it('lists every problem at once, with paths inside lists and maps', () => {
    const path = file({
      log: { level: 'loud' },
      auth: { keys: [{ alg: 'none' }, { alg: 'RS256' }] },
      channels: { namespaces: { chat: { allowRecovery: true }, 'bad name': {} } },
      client: { pingIntervalMs: 5000, pongTimeoutMs: 6000 },
    });
    const message = configErrorOf(() => loadConfig({ file: path }));
    expect(message).toContain(
      'log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"',
    );
    expect(message).toContain('auth.keys[0].alg: expected one of "HS256"');
    expect(message).toContain('auth.keys[1].publicKey: RS256 needs a PEM publicKey');
    expect(message).toContain('channels.namespaces.chat.allowRecovery: recovery needs history');
    expect(message).toContain('channels.namespaces.bad name: invalid name');
    expect(message).toContain('client.pongTimeoutMs: must be shorter than client.pingIntervalMs');
  });

  it('never echoes secrets', () => {
    const message = configErrorOf(() =>
      loadConfig({ env: { TIDINGS_AUTH_HMAC_SECRET: 'tooshort-secret', TIDINGS_API_KEYS: 'short-api-key' } }),
    );
    expect(message).toContain('auth.hmacSecret: expected a string of at least 32 characters');
    expect(message).toContain('(from TIDINGS_AUTH_HMAC_SECRET)');
    expect(message).not.toContain('tooshort-secret');
    expect(message).not.toContain('short-api-key');
  });

  it('reports malformed JSON in env variables and files', () => {
    expect(configErrorOf(() => loadConfig({ env: { TIDINGS_AUTH_KEYS: '[{' } }))).toContain(
      'auth.keys: expected a JSON value, got text that does not parse as JSON (from TIDINGS_AUTH_KEYS)',
    );
    const path = file('{ "http": ');
    expect(configErrorOf(() => loadConfig({ file: path }))).toContain(`config file ${path} is not valid JSON`);
    expect(configErrorOf(() => loadConfig({ file: file('[]') }))).toContain('must hold a JSON object');
    expect(configErrorOf(() => loadConfig({ file: join(dir, 'missing.json') }))).toContain('file not found');
  });

  it('names every valid engine when engine.type is unknown, from a flag or a file', () => {
    const flag = configErrorOf(() =>
      loadConfig({ flags: [{ path: 'engine.type', value: 'mysql', source: '--engine' }] }),
    );
    expect(flag).toContain('engine.type: expected one of "memory", "redis", "nats", got "mysql" (from --engine)');
    const path = file({ engine: { type: 'mysql' } });
    expect(configErrorOf(() => loadConfig({ file: path }))).toContain(
      `engine.type: expected one of "memory", "redis", "nats", got "mysql" (in ${path})`,
    );
  });

  it('says a directory given as the config file is a directory, and what to pass instead', () => {
    const message = configErrorOf(() => loadConfig({ file: dir }));
    expect(message).toBe(
      `cannot read config file ${dir}: it is a directory; --config takes a JSON file (tidings genconfig > tidings.json writes one)`,
    );
    expect(message).not.toContain('EISDIR');
  });

  it('rejects a flag for a path that is not an option', () => {
    expect(configErrorOf(() => loadConfig({ flags: [{ path: 'http.nope', value: '1', source: '--nope' }] }))).toContain(
      '--nope: http.nope is not an option',
    );
  });
});

describe('client.writeDelayMs', () => {
  it('defaults to 0, reads TIDINGS_CLIENT_WRITE_DELAY_MS and reaches the library options', () => {
    expect(loadConfig({}).client.writeDelayMs).toBe(0);
    const config = loadConfig({ env: { TIDINGS_CLIENT_WRITE_DELAY_MS: '3' } });
    expect(config.client.writeDelayMs).toBe(3);
    expect(toClientOptions(config.client).writeDelayMs).toBe(3);
    expect(() => loadConfig({ env: { TIDINGS_CLIENT_WRITE_DELAY_MS: '-1' } })).toThrow(/writeDelayMs/);
  });
});
