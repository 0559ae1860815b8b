import { type KeyObject, webcrypto } from 'node:crypto';
import { clientError, ErrorCode, isTidingsError, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { decodeProtectedHeader, errors, type JWTVerifyOptions, jwtVerify } from 'jose';
import { type Clock, systemClock } from '../internal/clock.js';
import { credentialsFromClaims, grantFromClaims, unauthorized, type VerifiedClaims } from './jwt-claims.js';
import { type JwtKeyConfig, type ResolvedJwtKey, resolveJwtKeys } from './jwt-keys.js';
import { assertCanonicalCompact, assertSaneTimes, defaultMaxTokenLifetimeSec } from './jwt-strict.js';
import type {
  Authenticator,
  ConnectAuthRequest,
  Credentials,
  SubscriptionGrant,
  SubscriptionTokenContext,
} from './types.js';

/** Options of `createJwtAuthenticator`. */
export interface JwtAuthenticatorOptions {
  /** Verification keys, each pinned to one algorithm. Empty: every token is rejected (101). */
  readonly keys: readonly JwtKeyConfig[];
  /** When set, tokens must carry this `aud`. */
  readonly audience?: string;
  /** When set, tokens must carry this `iss`. */
  readonly issuer?: string;
  /** Reject tokens without `exp` (default true). */
  readonly requireExp?: boolean;
  /** Connections without a token get anonymous credentials (default false: wire 101). */
  readonly allowAnonymous?: boolean;
  /** Leeway for `exp`/`nbf` against clock skew, in seconds (default 5, at most 300). */
  readonly clockToleranceSec?: number;
  /**
   * Longest accepted token lifetime in seconds (default 30 days): `exp` may be at most this far
   * ahead of now, and `exp - iat` at most this long. Refusals are wire 101.
   */
  readonly maxTokenLifetimeSec?: number;
  /** Source of `now` for expiry checks (default the system clock). */
  readonly clock?: Clock;
  /** Option path used in config error messages (default `auth`). */
  readonly configPath?: string;
}

const anonymousCredentials: Credentials = Object.freeze({
  userId: '',
  anonymous: true,
  channels: Object.freeze([]) as readonly string[],
});

/**
 * Verifies connection and subscription JWTs with keys pinned to their algorithms.
 *
 * Key selection: a token with a `kid` header is verified by the key with that kid (which must
 * have the token's `alg`); when no key has that kid, by the keys without a kid whose `alg`
 * equals the token's. A token without `kid` is tried against every key whose `alg` equals the
 * token's. `alg: none` and algorithms no key is configured for are always rejected.
 *
 * Strictness beyond jose: the token must be canonical base64url without padding, `iat` must not
 * be in the future (beyond the leeway), and `exp` at most `maxTokenLifetimeSec` ahead (see
 * jwt-strict.ts).
 *
 * Errors follow the `Authenticator` contract: expiry alone → wire 109, every other defect →
 * wire 101, claim/context mismatches → wire 103. Messages are the standard wire messages; the
 * `cause` holds a fixed, content-free reason for logs.
 */
export class JwtAuthenticator implements Authenticator {
  readonly #keys: readonly ResolvedJwtKey[];
  readonly #allowAnonymous: boolean;
  readonly #clock: Clock;
  readonly #toleranceSec: number;
  readonly #maxLifetimeSec: number;
  readonly #verifyOptions: Omit<JWTVerifyOptions, 'algorithms' | 'currentDate'>;
  /** HMAC secrets imported once as CryptoKeys (see `#verifyKeyOf`). */
  readonly #hmacKeys = new Map<ResolvedJwtKey, Promise<webcrypto.CryptoKey>>();

  constructor(options: JwtAuthenticatorOptions) {
    const path = options.configPath ?? 'auth';
    this.#keys = Object.freeze(resolveJwtKeys(options.keys, `${path}.keys`));
    this.#allowAnonymous = options.allowAnonymous ?? false;
    const tolerance = options.clockToleranceSec ?? 5;
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 300) {
      throw new TidingsError(TidingsErrorCode.Config, `${path}.clockToleranceSec: must be between 0 and 300`);
    }
    this.#toleranceSec = tolerance;
    const lifetime = options.maxTokenLifetimeSec ?? defaultMaxTokenLifetimeSec;
    if (!Number.isInteger(lifetime) || lifetime <= 0) {
      throw new TidingsError(TidingsErrorCode.Config, `${path}.maxTokenLifetimeSec: must be a positive integer`);
    }
    this.#maxLifetimeSec = lifetime;
    for (const name of ['audience', 'issuer'] as const) {
      const value = options[name];
      if (value !== undefined && (typeof value !== 'string' || value === '')) {
        throw new TidingsError(TidingsErrorCode.Config, `${path}.${name}: must be a non-empty string`);
      }
    }
    this.#clock = options.clock ?? systemClock;
    this.#verifyOptions = Object.freeze({
      clockTolerance: tolerance,
      requiredClaims: (options.requireExp ?? true) ? ['exp'] : [],
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    });
  }

  async authenticate(request: ConnectAuthRequest): Promise<Credentials> {
    const token = request.token;
    if (token === undefined || token === '') {
      if (this.#allowAnonymous) return anonymousCredentials;
      throw unauthorized('no token');
    }
    return credentialsFromClaims(await this.#verify(token));
  }

  async verifySubscriptionToken(token: string, context: SubscriptionTokenContext): Promise<SubscriptionGrant> {
    if (typeof token !== 'string' || token === '') throw unauthorized('no subscription token');
    return grantFromClaims(await this.#verify(token), context);
  }

  #candidates(alg: string, kid: unknown): ResolvedJwtKey[] {
    if (typeof kid === 'string') {
      const byKid = this.#keys.find((k) => k.kid === kid);
      if (byKid !== undefined) return byKid.alg === alg ? [byKid] : [];
      return this.#keys.filter((k) => k.kid === undefined && k.alg === alg);
    }
    return this.#keys.filter((k) => k.alg === alg);
  }

  async #verify(token: string): Promise<VerifiedClaims> {
    if (typeof token !== 'string') throw unauthorized('token is not a string');
    assertCanonicalCompact(token);
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthorized('malformed token');
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') throw unauthorized('unsigned token (alg none)');
    const candidates = this.#candidates(alg, header.kid);
    if (candidates.length === 0) throw unauthorized('no key configured for this token alg/kid');
    const currentDate = new Date(this.#clock.now());
    let reason = 'signature verification failed';
    for (const key of candidates) {
      try {
        const { payload } = await jwtVerify(token, await this.#verifyKeyOf(key), {
          ...this.#verifyOptions,
          algorithms: [key.alg],
          currentDate,
        });
        assertSaneTimes(payload, currentDate.getTime() / 1000, this.#toleranceSec, this.#maxLifetimeSec);
        return payload;
      } catch (error) {
        if (isTidingsError(error)) throw error;
        // jose checks the signature before the claims, so a claim error means this key signed
        // the token: no other key can do better.
        if (error instanceof errors.JWTExpired) throw clientError(ErrorCode.TokenExpired);
        if (error instanceof errors.JWTClaimValidationFailed) throw unauthorized(`claim check failed: ${error.claim}`);
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) reason = 'malformed or unsupported token';
      }
    }
    throw unauthorized(reason);
  }

  /**
   * The key to hand to jose. jose imports a raw HMAC secret (Uint8Array) into a new CryptoKey on
   * every verification (~11 KB of garbage per token), so secrets are imported once here and the
   * CryptoKey is reused; asymmetric KeyObjects go as they are (jose caches their conversion).
   */
  #verifyKeyOf(key: ResolvedJwtKey): Promise<webcrypto.CryptoKey> | KeyObject {
    if (!(key.key instanceof Uint8Array)) return key.key;
    let imported = this.#hmacKeys.get(key);
    if (imported === undefined) {
      const hash = `SHA-${key.alg.slice(2)}`;
      imported = webcrypto.subtle.importKey('raw', key.key, { name: 'HMAC', hash }, false, ['verify']);
      this.#hmacKeys.set(key, imported);
    }
    return imported;
  }
}

/**
 * Builds a JWT authenticator. Validates every key now (see `resolveJwtKeys`) and throws
 * `TIDINGS_ERR_CONFIG` naming the offending option, e.g. `auth.keys[1].publicKey: ...`.
 */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  return new JwtAuthenticator(options);
}
