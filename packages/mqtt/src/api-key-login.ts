import { createHash, timingSafeEqual } from 'node:crypto';
import { clientError, ErrorCode, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Authenticator, ConnectAuthRequest, Credentials } from '@tidings/server';

/** MQTT user name that says "the password is an API key" (trusted backends). */
export const apiKeyUserName = 'api-key';

/**
 * Request header the MQTT edge sets (and only it: it never comes from a client's packets as a
 * header) when a client logs in with user name `api-key`. Holding an API key already grants the
 * whole server API, so accepting it here grants nothing new.
 */
export const apiKeyLoginHeader = 'x-tidings-mqtt-api-key';

/**
 * Wraps `inner` so that a connection presenting one of `apiKeys` in `apiKeyLoginHeader` is
 * authenticated as user `api-key` (not anonymous), with no server-side subscriptions: the
 * namespace rules for authenticated clients then decide what it may subscribe to and publish.
 * Everything else goes to `inner` unchanged. A wrong key is refused with wire 101.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` when a key is blank.
 */
export function withApiKeyLogin(inner: Authenticator, apiKeys: readonly string[]): Authenticator {
  const digests = apiKeys.map((key, i) => {
    if (typeof key !== 'string' || key.length === 0) {
      throw new TidingsError(TidingsErrorCode.Config, `api.keys[${i}]: must be a non-empty string`);
    }
    return digest(key);
  });
  const credentials: Credentials = Object.freeze({ userId: apiKeyUserName, anonymous: false, channels: [] });
  return {
    async authenticate(request: ConnectAuthRequest): Promise<Credentials> {
      const presented = request.headers?.[apiKeyLoginHeader];
      if (presented === undefined) return inner.authenticate(request);
      const candidate = digest(Array.isArray(presented) ? (presented[0] ?? '') : presented);
      let found = false;
      for (const d of digests) found = timingSafeEqual(candidate, d) || found;
      if (!found) throw clientError(ErrorCode.Unauthorized);
      return credentials;
    },
    verifySubscriptionToken: (token, context) => inner.verifySubscriptionToken(token, context),
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
