import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Authenticator, ConnectAuthRequest, Credentials, TidingsHooks } from '@tidings/server';

/** The user id canary connections run under (visible in `/api/info` user counts and presence). */
export const canaryUser = '$tidings-canary';

/**
 * A per-process canary credential: a random token, never logged or written anywhere, that the
 * canary's own clients present (connect token, `Authorization: Bearer`). It logs in as
 * `canaryUser` with a server-side subscription to the canary channel only.
 */
export class CanaryLogin {
  readonly token = randomBytes(32).toString('base64url');
  readonly #digest = digest(this.token);
  readonly #credentials: Credentials;

  constructor(channel: string) {
    this.#credentials = Object.freeze({ userId: canaryUser, anonymous: false, channels: Object.freeze([channel]) });
  }

  /** True when `presented` is this process's canary token (constant-time). */
  matches(presented: string | undefined): boolean {
    if (presented === undefined || presented.length !== this.token.length) return false;
    return timingSafeEqual(digest(presented), this.#digest);
  }

  /** `inner`, except that the canary token logs in as the canary user. */
  wrapAuthenticator(inner: Authenticator): Authenticator {
    return {
      authenticate: async (request: ConnectAuthRequest): Promise<Credentials> =>
        this.matches(tokenOf(request)) ? this.#credentials : inner.authenticate(request),
      verifySubscriptionToken: (token, context) => inner.verifySubscriptionToken(token, context),
    };
  }

  /** `hooks`, except that a connect proxy (`onConnecting`) is not asked about canary connections. */
  wrapHooks(hooks: TidingsHooks): TidingsHooks {
    const onConnecting = hooks.onConnecting;
    if (onConnecting === undefined) return hooks;
    return {
      ...hooks,
      onConnecting: (ctx) => {
        if (this.matches(ctx.token) || this.matches(bearer(ctx.requestHeaders.authorization))) return undefined;
        return onConnecting.call(hooks, ctx);
      },
    };
  }
}

function tokenOf(request: ConnectAuthRequest): string | undefined {
  return request.token ?? bearer(request.headers?.authorization);
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
