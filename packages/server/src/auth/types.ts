import type { IncomingHttpHeaders } from 'node:http';

/** What a connecting client presents. */
export interface ConnectAuthRequest {
  /** The `token` of the connect command (or of a one-way transport's query/header/cookie). */
  readonly token?: string;
  readonly headers?: IncomingHttpHeaders;
  readonly remoteAddress?: string;
}

/** A server-side subscription granted by the connection token's `channels` / `subs` claims. */
export interface ServerSideSubscription {
  readonly channel: string;
}

/** The identity a connection runs under, from its token (or anonymous). */
export interface Credentials {
  /** `sub` claim; "" for anonymous connections. */
  readonly userId: string;
  readonly anonymous: boolean;
  /** Token expiry, seconds since the Unix epoch; undefined = never expires. */
  readonly expireAt?: number;
  /** `info` claim, JSON bytes attached to the client's ClientInfo. */
  readonly info?: Uint8Array;
  /** Server-side subscriptions from the `channels` claim. */
  readonly channels: readonly string[];
}

/** A grant from a subscription token for one channel. */
export interface SubscriptionGrant {
  readonly expireAt?: number;
  /** `info` claim of the subscription token: channel info bytes. */
  readonly info?: Uint8Array;
}

/** Context of a subscription token check. */
export interface SubscriptionTokenContext {
  readonly client: string;
  readonly userId: string;
  readonly channel: string;
}

/**
 * Verifies connection and subscription tokens.
 *
 * Contract: rejects with a `TidingsError` whose `wireCode` is 109 (token expired) when only the
 * expiry failed, and with `TIDINGS_ERR_CLIENT`/wire 101 for any other defect (bad signature,
 * wrong or `none` algorithm, wrong audience/issuer, missing `exp` when required, malformed).
 * A token whose `sub` (connection) or `channel`/`sub` (subscription) claims do not match the
 * context is rejected with wire 103.
 */
export interface Authenticator {
  authenticate(request: ConnectAuthRequest): Promise<Credentials>;
  verifySubscriptionToken(token: string, context: SubscriptionTokenContext): Promise<SubscriptionGrant>;
}
