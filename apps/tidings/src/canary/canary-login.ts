import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type Authenticator,
  type ConnectAuthRequest,
  type Credentials,
  canaryChannel,
  type TidingsHooks,
} from '@tidings/server';

/** The user id canary connections run under (visible in `/api/info` user counts and presence). */
export const canaryUser = '$tidings-canary';

const canaryId = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh canary secret: 32 random bytes, base64url. */
export function createCanarySecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The canary credential: a random secret, held in memory and never logged, shared by the
 * workers of `--workers` (whose canary clients may land on another worker of the shared port).
 * A canary client presents `<secret>.<canary id>` (connect token or `Authorization: Bearer`) and
 * logs in as `canaryUser` with a server-side subscription to `$tidings:canary.<canary id>` only.
 */
export class CanaryLogin {
  readonly #secret: string;
  readonly #digest: Buffer;

  constructor(secret: string = createCanarySecret()) {
    this.#secret = secret;
    this.#digest = digest(secret);
  }

  /** The token the clients of canary `id` present. */
  token(id: string): string {
    return `${this.#secret}.${id}`;
  }

  /** The canary credentials for `presented`, or undefined when it is not a canary token (constant-time). */
  credentials(presented: string | undefined): Credentials | undefined {
    if (presented === undefined) return undefined;
    const dot = presented.lastIndexOf('.');
    if (dot !== this.#secret.length) return undefined;
    const id = presented.slice(dot + 1);
    if (!timingSafeEqual(digest(presented.slice(0, dot)), this.#digest) || !canaryId.test(id)) return undefined;
    return { userId: canaryUser, anonymous: false, channels: [canaryChannel(id)] };
  }

  /** `inner`, except that a canary token logs in as the canary user. */
  wrapAuthenticator(inner: Authenticator): Authenticator {
    return {
      authenticate: async (request: ConnectAuthRequest): Promise<Credentials> =>
        this.credentials(tokenOf(request)) ?? inner.authenticate(request),
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
        const presented = ctx.token ?? bearer(ctx.requestHeaders.authorization);
        if (this.credentials(presented) !== undefined) return undefined;
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
