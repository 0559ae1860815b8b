import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { SignJWT } from 'jose';
import { type Clock, systemClock } from '../internal/clock.js';
import { hmacSecret, isHmacAlgorithm, isJwtAlgorithm, jwtAlgorithms, privateKeyFor } from './jwt-keys.js';

/** A signing key for `signToken`. */
export interface SigningKey {
  /** One of `jwtAlgorithms`; `none` is refused. */
  readonly alg: string;
  /** Written to the token header so verifiers can select the key. */
  readonly kid?: string;
  /** HMAC secret for HS*, at least 32 bytes of UTF-8. */
  readonly secret?: string;
  /** PEM private key (PKCS#8, PKCS#1 or SEC1) for RS*, ES* and EdDSA. */
  readonly privateKey?: string;
}

/** Options of `signToken`. */
export interface SignTokenOptions {
  /** Sets `exp` to now + this many seconds, unless `claims.exp` is given. */
  readonly expiresInSec?: number;
  /** Source of `now` for `iat` and `exp` (default the system clock). */
  readonly clock?: Clock;
}

/**
 * Signs a JWT with `claims` (for `tidings gentoken`, backends written in JS, and tests). Adds
 * `iat` (unless given) and `exp` from `expiresInSec` (unless `claims.exp` is given); the header
 * is `{ alg, typ: "JWT", kid? }`.
 *
 * Connection tokens carry `sub` (user id), `exp`, optional `info` (any JSON) and `channels`
 * (string[]); subscription tokens carry `sub`, `channel`, `exp` and optional `info`.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` (path `key.*`) for an unknown alg, a short or
 * missing secret, or a private key that cannot be parsed or does not fit the alg. Errors never
 * include the key material.
 */
export async function signToken(
  claims: Readonly<Record<string, unknown>>,
  key: SigningKey,
  options: SignTokenOptions = {},
): Promise<string> {
  const alg: unknown = key.alg;
  if (!isJwtAlgorithm(alg)) {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `key.alg: unsupported algorithm; use one of ${jwtAlgorithms.join(', ')}`,
    );
  }
  const material = isHmacAlgorithm(alg)
    ? hmacSecret(key.secret, 'key.secret')
    : privateKeyFor(key.privateKey, alg, 'key.privateKey');
  const nowSec = Math.floor((options.clock ?? systemClock).now() / 1000);
  const payload: Record<string, unknown> = { ...claims };
  if (payload.iat === undefined) payload.iat = nowSec;
  if (payload.exp === undefined && options.expiresInSec !== undefined) {
    if (!Number.isFinite(options.expiresInSec) || options.expiresInSec <= 0) {
      throw new TidingsError(TidingsErrorCode.Config, 'expiresInSec: must be a positive number of seconds');
    }
    payload.exp = nowSec + Math.floor(options.expiresInSec);
  }
  const header = { alg, typ: 'JWT', ...(key.kid === undefined ? {} : { kid: key.kid }) };
  return new SignJWT(payload).setProtectedHeader(header).sign(material);
}
