import { describe, expect, it } from 'vitest';
import { convertText, overridableField, overridesFromEnv, unknownEnvNames } from './env.js';
import { configFields, describeExpected, envNameOf, schemaAt } from './fields.js';

describe('config fields', () => {
  it('derives env names from option paths', () => {
    expect(envNameOf(['http', 'port'])).toBe('TIDINGS_HTTP_PORT');
    expect(envNameOf(['client', 'pingIntervalMs'])).toBe('TIDINGS_CLIENT_PING_INTERVAL_MS');
    expect(envNameOf(['http', 'maxConnectionsPerIp'])).toBe('TIDINGS_HTTP_MAX_CONNECTIONS_PER_IP');
    const byPath = new Map(configFields().map((f) => [f.path, f.env]));
    expect(byPath.get('auth.hmacSecret')).toBe('TIDINGS_AUTH_HMAC_SECRET');
    expect(byPath.get('api.keys')).toBe('TIDINGS_API_KEYS');
    expect(byPath.get('engine.type')).toBe('TIDINGS_ENGINE_TYPE');
    expect(byPath.get('channels.namespaces.<name>.presence')).toBeUndefined();
  });

  it('gives every option a unique env name and a description', () => {
    const envs = configFields().flatMap((f) => (f.env === undefined ? [] : [f.env]));
    expect(new Set(envs).size).toBe(envs.length);
    for (const field of configFields()) expect(field.description, field.path).not.toBe('');
  });

  it('names durations with Ms and sizes with Bytes', () => {
    for (const field of configFields()) {
      const name = field.path.split('.').at(-1) ?? '';
      if (/timeout|interval|ttl|window/i.test(name)) expect(name, field.path).toMatch(/Ms$/);
      if (/^max(Queue|Body|Frame)(Bytes|Size|Length)?$/.test(name)) expect(name, field.path).toMatch(/Bytes$/);
    }
  });

  it('marks secrets so they are never echoed', () => {
    const secrets = configFields()
      .filter((f) => f.secret)
      .map((f) => f.path);
    expect(secrets).toEqual(expect.arrayContaining(['auth.hmacSecret', 'api.keys', 'auth.keys[].secret']));
  });

  it('describes expectations in words', () => {
    const port = schemaAt(['http', 'port']);
    const level = schemaAt(['log', 'level']);
    const pretty = schemaAt(['log', 'pretty']);
    const alg = schemaAt(['auth', 'keys', 0, 'alg']);
    const history = schemaAt(['channels', 'namespaces', 'chat', 'historySize']);
    expect(port && describeExpected(port)).toBe('an integer between 0 and 65535');
    expect(level && describeExpected(level)).toContain('one of "trace", "debug"');
    expect(pretty && describeExpected(pretty)).toBe('true or false or "auto"');
    expect(alg && describeExpected(alg)).toContain('"EdDSA"');
    expect(history && describeExpected(history)).toBe('an integer of at least 0');
  });
});

describe('env overrides', () => {
  it('reads only known TIDINGS_ variables and flags the unknown ones', () => {
    const env = { TIDINGS_HTTP_PORT: '1', TIDINGS_HTTP_PROT: '2', TIDINGS_CONFIG: 'x.json', HOME: '/root' };
    expect(overridesFromEnv(env)).toEqual([{ path: 'http.port', value: '1', source: 'TIDINGS_HTTP_PORT' }]);
    expect(unknownEnvNames(env)).toEqual(['TIDINGS_HTTP_PROT']);
  });

  it('converts text by the option type and leaves mismatches for the schema to report', () => {
    const port = overridableField('http.port');
    const pretty = overridableField('log.pretty');
    const origins = overridableField('websocket.allowedOrigins');
    if (port === undefined || pretty === undefined || origins === undefined) throw new Error('missing fields');
    expect(convertText(port, ' 8080 ')).toEqual({ value: 8080 });
    expect(convertText(port, 'abc')).toEqual({ value: 'abc' });
    expect(convertText(pretty, 'TRUE')).toEqual({ value: true });
    expect(convertText(pretty, 'auto')).toEqual({ value: 'auto' });
    expect(convertText(origins, 'https://a.example, ,https://b.example')).toEqual({
      value: ['https://a.example', 'https://b.example'],
    });
    expect(convertText(origins, '')).toEqual({ value: [] });
    expect(overridableField('auth.keys[].alg')).toBeUndefined();
  });
});
