import { ErrorCode, errorMessages, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Credentials, SubscriptionGrant, SubscriptionTokenContext } from './types.js';

/** A verified JWT payload: signature, alg, exp, aud and iss already checked. */
export type VerifiedClaims = Readonly<Record<string, unknown>>;

/**
 * A client error whose cause names the reason for operators. The reason is a fixed phrase of
 * ours, never token content, so logging the cause cannot leak a token or a secret.
 */
function rejection(code: ErrorCode, reason: string): TidingsError {
  const std = errorMessages[code];
  return new TidingsError(TidingsErrorCode.Client, std.message, {
    wireCode: code,
    temporary: std.temporary,
    cause: new Error(reason),
  });
}

/** Wire 101 (unauthorized) with an operator-facing reason in `cause`. */
export function unauthorized(reason: string): TidingsError {
  return rejection(ErrorCode.Unauthorized, reason);
}

function permissionDenied(reason: string): TidingsError {
  return rejection(ErrorCode.PermissionDenied, reason);
}

const encoder = new TextEncoder();

/**
 * The `info` claim as bytes: any JSON value becomes its JSON text; `b64info` (standard base64)
 * carries binary info. Both present is ambiguous and rejected.
 */
function infoBytes(claims: VerifiedClaims): Uint8Array | undefined {
  const info = claims.info;
  const b64info = claims.b64info;
  if (info !== undefined && b64info !== undefined) throw unauthorized('both info and b64info claims');
  if (info !== undefined) return encoder.encode(JSON.stringify(info));
  if (b64info === undefined) return undefined;
  if (typeof b64info !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64info)) {
    throw unauthorized('b64info claim is not base64');
  }
  return new Uint8Array(Buffer.from(b64info, 'base64'));
}

function expOf(claims: VerifiedClaims): number | undefined {
  return typeof claims.exp === 'number' ? claims.exp : undefined;
}

/**
 * Connection token claims → Credentials.
 *
 * - `sub` must be a string. `""` is allowed: the backend signed a token for a guest, so the
 *   connection is anonymous (`anonymous: true`) and anonymous channel rules apply.
 * - `channels`, when present, must be an array of strings (server-side subscriptions).
 * - A `channel` claim marks a subscription token, which must not open a connection.
 * @throws TidingsError wire 101 on any malformed claim.
 */
export function credentialsFromClaims(claims: VerifiedClaims): Credentials {
  if (typeof claims.sub !== 'string') throw unauthorized('sub claim missing or not a string');
  if (claims.channel !== undefined) throw unauthorized('subscription token used as connection token');
  const channelsClaim = claims.channels;
  let channels: readonly string[] = [];
  if (channelsClaim !== undefined) {
    if (!Array.isArray(channelsClaim) || !channelsClaim.every((c): c is string => typeof c === 'string' && c !== '')) {
      throw unauthorized('channels claim is not an array of channel names');
    }
    channels = Object.freeze([...channelsClaim]);
  }
  const info = infoBytes(claims);
  const expireAt = expOf(claims);
  return {
    userId: claims.sub,
    anonymous: claims.sub === '',
    channels,
    ...(expireAt === undefined ? {} : { expireAt }),
    ...(info === undefined ? {} : { info }),
  };
}

/**
 * Subscription token claims → grant, checked against the subscribing connection.
 * @throws TidingsError wire 101 when `sub` or `channel` is missing or not a string (or `info`
 * is malformed); wire 103 when `sub` is not the connection's user or `channel` is not the
 * channel being subscribed.
 */
export function grantFromClaims(claims: VerifiedClaims, context: SubscriptionTokenContext): SubscriptionGrant {
  if (typeof claims.sub !== 'string') throw unauthorized('sub claim missing or not a string');
  if (typeof claims.channel !== 'string') throw unauthorized('channel claim missing or not a string');
  if (claims.sub !== context.userId) throw permissionDenied('subscription token sub does not match the user');
  if (claims.channel !== context.channel) throw permissionDenied('subscription token channel does not match');
  const info = infoBytes(claims);
  const expireAt = expOf(claims);
  return {
    ...(expireAt === undefined ? {} : { expireAt }),
    ...(info === undefined ? {} : { info }),
  };
}
