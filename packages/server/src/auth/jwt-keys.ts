import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/** JWS algorithms Tidings accepts. `none` is never among them. */
export const jwtAlgorithms = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/**
 * One token verification key. The algorithm is pinned: a key only ever verifies tokens whose
 * header `alg` equals its own `alg`.
 */
export interface JwtKeyConfig {
  /** Matched against the token header `kid`. Unique among the configured keys. */
  readonly kid?: string;
  readonly alg: JwtAlgorithm;
  /** HMAC secret for HS*, at least 32 bytes of UTF-8. */
  readonly secret?: string;
  /** PEM SPKI public key (`-----BEGIN PUBLIC KEY-----`) for RS*, ES* and EdDSA. */
  readonly publicKey?: string;
}

/** A validated key, ready for `jwtVerify`. */
export interface ResolvedJwtKey {
  readonly kid: string | undefined;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject | Uint8Array;
}

/** Shortest accepted HMAC secret, in bytes. */
export const minHmacSecretBytes = 32;

const curveOf: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1' };

function configError(path: string, reason: string): TidingsError {
  return new TidingsError(TidingsErrorCode.Config, `${path}: ${reason}`);
}

/** True when `alg` is one of `jwtAlgorithms`. */
export function isJwtAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && (jwtAlgorithms as readonly string[]).includes(alg);
}

/** True for the HMAC algorithms, which take a shared secret instead of a key pair. */
export function isHmacAlgorithm(alg: JwtAlgorithm): boolean {
  return alg.startsWith('HS');
}

/**
 * Why an asymmetric key cannot be used with `alg`, or undefined when it fits. Guards against
 * configuring, say, an EC key under `RS256` (which jose would only reject at the first token).
 */
export function keyMismatch(key: KeyObject, alg: JwtAlgorithm): string | undefined {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) {
    if (type !== 'rsa') return `${alg} needs an RSA key, got ${type ?? 'unknown'}`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) return `${alg} needs an RSA key of at least 2048 bits, got ${bits}`;
    return undefined;
  }
  if (alg.startsWith('ES')) {
    if (type !== 'ec') return `${alg} needs an EC key, got ${type ?? 'unknown'}`;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== curveOf[alg]) return `${alg} needs curve ${curveOf[alg]}, got ${curve ?? 'unknown'}`;
    return undefined;
  }
  if (type !== 'ed25519') return `${alg} needs an Ed25519 key, got ${type ?? 'unknown'}`;
  return undefined;
}

/** UTF-8 bytes of an HMAC secret, or a config error naming `path`. */
export function hmacSecret(secret: unknown, path: string): Uint8Array {
  if (typeof secret !== 'string' || secret.length === 0) throw configError(path, 'an HMAC secret is required');
  const bytes = new TextEncoder().encode(secret);
  if (bytes.byteLength < minHmacSecretBytes) {
    throw configError(path, `an HMAC secret must be at least ${minHmacSecretBytes} bytes, got ${bytes.byteLength}`);
  }
  return bytes;
}

/** Parses a PEM SPKI public key for `alg`; never echoes the PEM in errors. */
export function publicKeyFor(pem: unknown, alg: JwtAlgorithm, path: string): KeyObject {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw configError(path, 'expected a PEM SPKI public key ("-----BEGIN PUBLIC KEY-----")');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw configError(path, 'the PEM public key could not be parsed');
  }
  const mismatch = keyMismatch(key, alg);
  if (mismatch !== undefined) throw configError(path, mismatch);
  return key;
}

/** Parses a PEM private key (PKCS#8, or PKCS#1/SEC1) for `alg`; never echoes the PEM in errors. */
export function privateKeyFor(pem: unknown, alg: JwtAlgorithm, path: string): KeyObject {
  if (typeof pem !== 'string' || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw configError(path, 'expected a PEM private key');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw configError(path, 'the PEM private key could not be parsed');
  }
  const mismatch = keyMismatch(key, alg);
  if (mismatch !== undefined) throw configError(path, mismatch);
  return key;
}

/**
 * Validates key configs once, at construction.
 * @param path option path used in error messages, e.g. `auth.keys`.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` naming the key, e.g. `auth.keys[1].publicKey: ...`,
 * for an unknown alg, a missing or short secret, a bad PEM, a key of the wrong type, a secret
 * given for an asymmetric alg (or a public key for HS*), or a duplicate kid.
 */
export function resolveJwtKeys(keys: readonly JwtKeyConfig[], path: string): ResolvedJwtKey[] {
  if (!Array.isArray(keys)) throw configError(path, 'expected an array of keys');
  const kids = new Set<string>();
  return keys.map((config, index) => {
    const at = `${path}[${index}]`;
    const alg: unknown = config.alg;
    if (!isJwtAlgorithm(alg)) {
      throw configError(`${at}.alg`, `unsupported algorithm; use one of ${jwtAlgorithms.join(', ')}`);
    }
    if (config.kid !== undefined) {
      if (typeof config.kid !== 'string' || config.kid.length === 0)
        throw configError(`${at}.kid`, 'must be a non-empty string');
      if (kids.has(config.kid)) throw configError(`${at}.kid`, 'duplicate kid');
      kids.add(config.kid);
    }
    if (isHmacAlgorithm(alg)) {
      if (config.publicKey !== undefined)
        throw configError(`${at}.publicKey`, `${alg} takes a secret, not a public key`);
      return { kid: config.kid, alg, key: hmacSecret(config.secret, `${at}.secret`) };
    }
    if (config.secret !== undefined) throw configError(`${at}.secret`, `${alg} takes a public key, not a secret`);
    return { kid: config.kid, alg, key: publicKeyFor(config.publicKey, alg, `${at}.publicKey`) };
  });
}
