import { unauthorized, type VerifiedClaims } from './jwt-claims.js';

/** Default longest accepted token lifetime: 30 days. */
export const defaultMaxTokenLifetimeSec = 30 * 24 * 3600;

const compactShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Refuses a compact JWS unless each of its three parts is canonical base64url without padding
 * (RFC 7515 §2, §7.1): no `=`, no characters outside the url-safe alphabet, no unused bits set
 * in the last character. jose decodes leniently, so without this one token could be sent as
 * many different strings (a `=` appended to the signature verified), which defeats any cache
 * or deny-list keyed by the token text.
 * @throws TidingsError wire 101.
 */
export function assertCanonicalCompact(token: string): void {
  if (!compactShape.test(token)) throw unauthorized('token is not three base64url parts without padding');
  for (const part of token.split('.')) {
    if (part.length % 4 === 1 || Buffer.from(part, 'base64url').toString('base64url') !== part) {
      throw unauthorized('token part is not canonical base64url');
    }
  }
}

/**
 * Time claims checks jose does not make, on a payload whose signature is verified:
 * - `iat`, when present, is a finite number not later than `now + toleranceSec`;
 * - `exp`, when present, is at most `maxLifetimeSec` after `now` (so `exp: 1e308`, a token that
 *   never expires, is refused) and, with `iat`, `exp - iat` is at most `maxLifetimeSec`;
 * - `nbf`, when present, is finite.
 * @throws TidingsError wire 101 naming the claim in its cause.
 */
export function assertSaneTimes(
  claims: VerifiedClaims,
  nowSec: number,
  toleranceSec: number,
  maxLifetimeSec: number,
): void {
  const { iat, exp, nbf } = claims;
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw unauthorized('claim check failed: iat');
    if (iat > nowSec + toleranceSec) throw unauthorized('claim check failed: iat in the future');
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) {
    throw unauthorized('claim check failed: nbf');
  }
  if (exp === undefined) return;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthorized('claim check failed: exp');
  if (exp > nowSec + maxLifetimeSec + toleranceSec) throw unauthorized('claim check failed: exp beyond max lifetime');
  if (typeof iat === 'number' && exp - iat > maxLifetimeSec) {
    throw unauthorized('claim check failed: exp - iat beyond max lifetime');
  }
}
