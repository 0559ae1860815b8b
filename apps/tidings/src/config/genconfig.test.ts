import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultNamespaceOptions } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { generateConfig, generateConfigText } from './genconfig.js';
import { loadConfig } from './load.js';
import { configSchema } from './schema.js';

describe('genconfig', () => {
  it('prints a complete config that loads as is', () => {
    const text = generateConfigText();
    const file = join(mkdtempSync(join(tmpdir(), 'tidings-gen-')), 'tidings.json');
    writeFileSync(file, text);
    const config = loadConfig({ file });
    expect(config).toEqual(JSON.parse(text));
    expect(configSchema.safeParse(JSON.parse(text)).success).toBe(true);
  });

  it('holds one HS256 key with a 32-byte random secret and one API key', () => {
    const config = generateConfig();
    expect(config.auth.keys).toHaveLength(1);
    const key = config.auth.keys[0];
    expect(key?.alg).toBe('HS256');
    expect(Buffer.from(key?.secret ?? '', 'base64url')).toHaveLength(32);
    expect(config.api.keys).toHaveLength(1);
    expect(config.api.keys[0]?.length).toBeGreaterThanOrEqual(32);
    expect(config.client.allowAnonymous).toBe(false);
    expect(Object.keys(config.channels.namespaces)).toEqual(['chat', 'updates']);
  });

  it('makes fresh secrets each time', () => {
    const a = generateConfig();
    const b = generateConfig();
    expect(a.auth.keys[0]?.secret).not.toBe(b.auth.keys[0]?.secret);
    expect(a.api.keys[0]).not.toBe(b.api.keys[0]);
  });

  it('uses the library defaults for namespace options', () => {
    expect(configSchema.parse({}).channels.defaults).toEqual(defaultNamespaceOptions);
  });
});
