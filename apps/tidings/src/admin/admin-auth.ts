import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the admin session cookie (path `/admin`, HttpOnly, SameSite=Strict). */
export const adminCookie = 'tidings_admin';

/** What the admin console accepts as credentials. */
export interface AdminAuthOptions {
  /** `admin.password`: typed into the login form. */
  readonly password?: string | undefined;
  /** `admin.token`: `Authorization: Bearer <token>` for scripts, also accepted by the login form. */
  readonly token?: string | undefined;
  /** Lifetime of a session cookie. */
  readonly sessionTtlMs: number;
  /** Failed logins allowed per remote address and minute before 429. */
  readonly maxFailedLoginsPerMinute?: number;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sameSecret(candidate: string, expected: Buffer | undefined): boolean {
  return expected !== undefined && timingSafeEqual(digest(candidate), expected);
}

/**
 * Admin credentials and sessions. Sessions are stateless: the cookie is `<expiry>.<mac>`, an
 * HMAC-SHA256 of the expiry under a key derived from the configured password and token, so
 * every node and worker with the same config accepts it, and changing the password ends every
 * session. Secrets are compared in constant time (as SHA-256 digests, so lengths do not leak).
 */
export class AdminAuth {
  readonly #password: Buffer | undefined;
  readonly #token: Buffer | undefined;
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #maxFailures: number;
  readonly #failures = new Map<string, { count: number; since: number }>();

  constructor(options: AdminAuthOptions) {
    this.#password = options.password === undefined ? undefined : digest(options.password);
    this.#token = options.token === undefined ? undefined : digest(options.token);
    this.#key = digest(`tidings-admin-session\u0000${options.password ?? ''}\u0000${options.token ?? ''}`);
    this.#ttlMs = options.sessionTtlMs;
    this.#maxFailures = options.maxFailedLoginsPerMinute ?? 10;
  }

  /** True when a password or a token is configured (else the console is off). */
  get enabled(): boolean {
    return this.#password !== undefined || this.#token !== undefined;
  }

  get sessionTtlMs(): number {
    return this.#ttlMs;
  }

  /** Whether the login form's secret is the admin password or the admin token. */
  checkLogin(secret: string): boolean {
    // Both comparisons always run, so timing does not tell which one matched.
    const password = sameSecret(secret, this.#password);
    const token = sameSecret(secret, this.#token);
    return password || token;
  }

  /** Whether an `Authorization` header carries `Bearer <admin.token>`. */
  checkBearer(header: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1] !== undefined && sameSecret(match[1], this.#token);
  }

  /** A new session cookie value, valid until `now + sessionTtlMs`. */
  issueSession(now: number): string {
    const exp = now + this.#ttlMs;
    return `${exp}.${this.#mac(exp)}`;
  }

  /** Whether `value` is a session this config issued that has not expired at `now`. */
  verifySession(value: string | undefined, now: number): boolean {
    if (value === undefined) return false;
    const match = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (match === null) return false;
    const exp = Number(match[1]);
    if (!(exp > now)) return false;
    const expected = Buffer.from(this.#mac(exp));
    const given = Buffer.from(match[2] as string);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /**
   * Counts a failed login from `address`; returns the seconds to wait when the address is over
   * its budget for this minute, else 0. `blockedFor` reads the same without counting.
   */
  failed(address: string, now: number): number {
    const entry = this.#entry(address, now);
    entry.count++;
    return this.blockedFor(address, now);
  }

  blockedFor(address: string, now: number): number {
    const entry = this.#failures.get(address);
    if (entry === undefined || now - entry.since >= 60_000 || entry.count < this.#maxFailures) return 0;
    return Math.max(1, Math.ceil((entry.since + 60_000 - now) / 1000));
  }

  /** A successful login clears the address's failures. */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }

  #entry(address: string, now: number): { count: number; since: number } {
    let entry = this.#failures.get(address);
    if (entry === undefined || now - entry.since >= 60_000) {
      // Bounded: a flood of addresses resets the table rather than growing it.
      if (this.#failures.size >= 10_000) this.#failures.clear();
      entry = { count: 0, since: now };
      this.#failures.set(address, entry);
    }
    return entry;
  }

  #mac(exp: number): string {
    return createHmac('sha256', this.#key).update(`v1.${exp}`).digest('base64url');
  }
}

/** The value of cookie `name` in a `Cookie` header, if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
