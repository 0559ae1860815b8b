import { describe, expect, it } from 'vitest';
import { AdminAuth, readCookie } from './admin-auth.js';

const hour = 3_600_000;

describe('AdminAuth', () => {
  const auth = new AdminAuth({
    password: 'correct-horse-battery',
    token: 'admin-token-0123456789',
    sessionTtlMs: hour,
  });

  it('accepts the password or the token at login, nothing else', () => {
    expect(auth.checkLogin('correct-horse-battery')).toBe(true);
    expect(auth.checkLogin('admin-token-0123456789')).toBe(true);
    expect(auth.checkLogin('correct-horse-batter')).toBe(false);
    expect(auth.checkLogin('')).toBe(false);
  });

  it('accepts Bearer <admin.token> but not the password as a bearer', () => {
    expect(auth.checkBearer('Bearer admin-token-0123456789')).toBe(true);
    expect(auth.checkBearer('bearer  admin-token-0123456789 ')).toBe(true);
    expect(auth.checkBearer('Bearer correct-horse-battery')).toBe(false);
    expect(auth.checkBearer(undefined)).toBe(false);
    expect(auth.checkBearer('Basic YWRtaW46YWRtaW4=')).toBe(false);
  });

  it('issues sessions that verify until they expire', () => {
    const cookie = auth.issueSession(1_000);
    expect(auth.verifySession(cookie, 1_000)).toBe(true);
    expect(auth.verifySession(cookie, 1_000 + hour - 1)).toBe(true);
    expect(auth.verifySession(cookie, 1_000 + hour)).toBe(false);
  });

  it('refuses forged, altered and foreign sessions', () => {
    const cookie = auth.issueSession(1_000);
    const [exp, mac] = cookie.split('.') as [string, string];
    // A later expiry with the old MAC.
    expect(auth.verifySession(`${Number(exp) + hour}.${mac}`, 2_000)).toBe(false);
    expect(auth.verifySession(`${exp}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, 2_000)).toBe(false);
    expect(auth.verifySession('garbage', 2_000)).toBe(false);
    expect(auth.verifySession(undefined, 2_000)).toBe(false);
    // Another password: another key, so sessions end when the password changes.
    const other = new AdminAuth({ password: 'another-password-1', sessionTtlMs: hour });
    expect(other.verifySession(cookie, 2_000)).toBe(false);
  });

  it('is off with neither password nor token; a token alone has no password login by bearer', () => {
    expect(new AdminAuth({ sessionTtlMs: hour }).enabled).toBe(false);
    const tokenOnly = new AdminAuth({ token: 'admin-token-0123456789', sessionTtlMs: hour });
    expect(tokenOnly.enabled).toBe(true);
    expect(tokenOnly.checkLogin('anything-else')).toBe(false);
    const passwordOnly = new AdminAuth({ password: 'correct-horse-battery', sessionTtlMs: hour });
    expect(passwordOnly.checkBearer('Bearer correct-horse-battery')).toBe(false);
  });

  it('blocks an address after 10 failed logins in a minute, then lets it retry', () => {
    const a = new AdminAuth({ password: 'correct-horse-battery', sessionTtlMs: hour });
    for (let i = 0; i < 9; i++) expect(a.failed('10.0.0.1', 1_000 + i)).toBe(0);
    expect(a.failed('10.0.0.1', 1_010)).toBe(60);
    expect(a.blockedFor('10.0.0.1', 31_000)).toBe(30);
    expect(a.blockedFor('10.0.0.2', 31_000)).toBe(0);
    expect(a.blockedFor('10.0.0.1', 61_000)).toBe(0);
    a.failed('10.0.0.3', 0);
    a.succeeded('10.0.0.3');
    expect(a.blockedFor('10.0.0.3', 1)).toBe(0);
  });
});

describe('readCookie', () => {
  it('finds a cookie among others', () => {
    expect(readCookie('a=1; tidings_admin=x.y; b=2', 'tidings_admin')).toBe('x.y');
    expect(readCookie('tidings_admin_2=z', 'tidings_admin')).toBeUndefined();
    expect(readCookie(undefined, 'tidings_admin')).toBeUndefined();
  });
});
