import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { signToken } from '@tidings/server';
import type { JwtKeyConfig, TidingsConfig } from './config/schema.js';

/** What `tidings gentoken` puts in a connection token. */
export interface GenerateTokenOptions {
  /** The `sub` claim (user id). Must not be empty: "" means anonymous. */
  readonly user: string;
  /** Lifetime in seconds (`exp` = now + ttl). */
  readonly ttlSec: number;
  /** Server-side subscriptions (`channels` claim). */
  readonly channels?: readonly string[];
  /** PEM private key for an RS*, ES* or EdDSA key of `auth.keys`. */
  readonly privateKey?: string;
  /** Picks the key of `auth.keys` with this `kid`. */
  readonly kid?: string;
}

function usage(message: string): TidingsError {
  return new TidingsError(TidingsErrorCode.Config, message);
}

const isHmac = (key: JwtKeyConfig) => key.alg.startsWith('HS');

/**
 * Chooses the signing key. HMAC keys sign with their configured secret. A server config holds
 * only public halves of asymmetric keys, so those need the private key passed in; tokens for
 * them are normally made by the application backend.
 */
function chooseKey(config: TidingsConfig, options: GenerateTokenOptions): JwtKeyConfig {
  const keys = config.auth.keys;
  if (keys.length === 0) {
    throw usage(
      'auth.keys is empty, so no token can be verified; add a key (see `tidings genconfig`) or set TIDINGS_AUTH_HMAC_SECRET',
    );
  }
  const wanted = options.privateKey === undefined ? isHmac : (key: JwtKeyConfig) => !isHmac(key);
  const candidates = keys.filter((key) => wanted(key) && (options.kid === undefined || key.kid === options.kid));
  const key = candidates[0];
  if (key !== undefined) return key;
  if (options.kid !== undefined && !keys.some((k) => k.kid === options.kid)) {
    throw usage(
      `auth.keys has no key with kid "${options.kid}"; pass one of: ${keys.map((k) => k.kid ?? '(none)').join(', ')}`,
    );
  }
  if (options.privateKey === undefined) {
    throw usage(
      'auth.keys holds no HMAC (HS*) key; to sign for an RS*/ES*/EdDSA key pass its private key with --private-key FILE',
    );
  }
  throw usage('--private-key was given but auth.keys holds no RS*/ES*/EdDSA key to match it');
}

/**
 * Signs a connection token that this config's authenticator accepts: `sub`, `exp`, the
 * configured `aud`/`iss`, optional `channels`, and the key's `kid` in the header.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` when no usable key exists, the user is empty, the
 *   TTL is not a positive integer, or the private key does not fit the chosen key's algorithm.
 */
export async function generateToken(config: TidingsConfig, options: GenerateTokenOptions): Promise<string> {
  if (options.user === '') throw usage('--user must not be empty (an empty user id means anonymous)');
  if (!Number.isInteger(options.ttlSec) || options.ttlSec <= 0) {
    throw usage('--ttl must be a positive whole number of seconds');
  }
  const key = chooseKey(config, options);
  const claims: Record<string, unknown> = { sub: options.user };
  if (options.channels !== undefined && options.channels.length > 0) claims.channels = [...options.channels];
  if (config.auth.audience !== undefined) claims.aud = config.auth.audience;
  if (config.auth.issuer !== undefined) claims.iss = config.auth.issuer;
  const signingKey = {
    alg: key.alg,
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...(key.secret === undefined ? {} : { secret: key.secret }),
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
  };
  return signToken(claims, signingKey, { expiresInSec: options.ttlSec });
}
