import { describe, expect, it } from 'vitest';
import { type BannerInfo, renderBanner } from './banner.js';

const base: BannerInfo = {
  version: '1.2.3',
  url: 'http://127.0.0.1:8000',
  websocketPath: '/connection/websocket',
  secrets: { apiKey: 'generated-key-0123456789abcdef', hmacSecret: 'hmac-secret' },
  devToken: 'dev.token.jwt',
  devTokenUser: 'dashboard',
  devTokenTtlSec: 24 * 3600,
  channel: 'demo:chat',
};

const body = `-d '{"channel":"demo:chat","data":{"text":"hello from curl"}}'`;

describe('development banner', () => {
  it('shows the generated key once and a ready-to-copy curl line that uses it', () => {
    const text = renderBanner(base);
    expect(text).toContain('  API key      generated-key-0123456789abcdef');
    expect(text).toContain('    curl -sS -X POST http://127.0.0.1:8000/api/publish \\');
    expect(text).toContain(`-H 'X-API-Key: generated-key-0123456789abcdef' -H 'Content-Type: application/json' \\`);
    expect(text).toContain(body);
  });

  it('keeps the curl line when the keys come from TIDINGS_API_KEYS, reading the first without printing it', () => {
    const text = renderBanner({
      ...base,
      secrets: { apiKey: undefined, hmacSecret: 'hmac-secret' },
      apiKeyEnv: 'TIDINGS_API_KEYS',
    });
    expect(text).not.toContain('API key      ');
    expect(text).toContain('Publish to demo:chat with the first key of TIDINGS_API_KEYS');
    expect(text).toContain(`-H "X-API-Key: \${TIDINGS_API_KEYS%%,*}" -H 'Content-Type: application/json' \\`);
    expect(text).toContain(body);
  });

  it("names the admin console and its generated password, or only the console when the password is the user's", () => {
    const generated = renderBanner({ ...base, secrets: { ...base.secrets, adminPassword: 'GeneratedAdmin16' } });
    expect(generated).toContain('  Admin        http://127.0.0.1:8000/admin');
    expect(generated).toContain('  Admin pass   GeneratedAdmin16   (log in at /admin)');
    const own = renderBanner({ ...base, admin: true });
    expect(own).toContain('  Admin        http://127.0.0.1:8000/admin');
    expect(own).not.toContain('Admin pass');
    expect(renderBanner(base)).not.toContain('/admin');
  });

  it('has no curl line when no API key is known', () => {
    const text = renderBanner({ ...base, secrets: { apiKey: undefined, hmacSecret: undefined }, devToken: undefined });
    expect(text).not.toContain('curl');
    expect(text).not.toContain('Dev token');
  });
});
