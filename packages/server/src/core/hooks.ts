import type { IncomingHttpHeaders } from 'node:http';
import type { CodecName, Disconnect } from '@tidings/protocol';

/**
 * What every hook context carries about the client: its id, the user it runs under ("" while
 * connecting or when anonymous), the transport and codec it uses, the headers kept for hooks
 * (`TidingsHooks.keepHeaders`) and the `meta` the connect hook returned.
 */
export interface HookClient {
  readonly client: string;
  readonly user: string;
  /** Transport name, e.g. "websocket", "sse", "http_stream". */
  readonly transport: string;
  /** Codec name: "json", "protobuf" or "msgpack". */
  readonly protocol: CodecName;
  /** Headers of the connection request that `keepHeaders` selected; empty when none. */
  readonly headers: Readonly<Record<string, string>>;
  /** What the connect hook returned as `meta` (never sent to the client). */
  readonly meta: unknown;
}

/** A client is connecting. */
export interface ConnectingContext extends Omit<HookClient, 'user' | 'headers' | 'meta'> {
  /** The connect command's token, when the client sent one. */
  readonly token?: string;
  /** The connect command's custom `data`. */
  readonly data?: Uint8Array;
  readonly name?: string;
  readonly version?: string;
  /** Every header of the connection request (WebSocket upgrade or HTTP request). */
  readonly requestHeaders: IncomingHttpHeaders;
  readonly remoteAddress?: string;
}

/** The connect hook's verdict: who the client is and what it gets. */
export interface ConnectingResult {
  /** The user id; "" = anonymous. */
  readonly user: string;
  /** Connection expiry, seconds since the Unix epoch. With `onRefresh` set, the server refreshes it itself. */
  readonly expireAt?: number;
  /** Connection info (JSON bytes for JSON clients), attached to publications, joins and leaves. */
  readonly info?: Uint8Array;
  /** Custom data for the client, in the connect reply's `data`. */
  readonly data?: Uint8Array;
  /** Channels to subscribe server-side. */
  readonly channels?: readonly string[];
  /** Opaque state handed to every later hook of this connection; never sent to the client. */
  readonly meta?: unknown;
}

/** A client asks to subscribe (without a subscription token, or with one the hook may read). */
export interface SubscribeContext extends HookClient {
  readonly channel: string;
  readonly token?: string;
  readonly data?: Uint8Array;
}

/** The subscribe hook's verdict: allowed, with optional channel info and data. */
export interface SubscribeHookResult {
  /** Channel info attached to this subscriber's publications, joins and leaves. */
  readonly info?: Uint8Array;
  /** Custom data for the client, in the subscribe reply's `data`. */
  readonly data?: Uint8Array;
  /** Subscription expiry, seconds since the Unix epoch; `onSubRefresh` then extends it. */
  readonly expireAt?: number;
}

/** A client publishes into a channel. */
export interface PublishContext extends HookClient {
  readonly channel: string;
  readonly data: Uint8Array;
}

/** The publish hook's verdict: allowed, optionally with rewritten data. */
export interface PublishHookResult {
  /** Replaces the client's data. */
  readonly data?: Uint8Array;
  /** Deliver without storing in history. */
  readonly skipHistory?: boolean;
}

/** A client sent an RPC. */
export interface RpcContext extends HookClient {
  readonly method: string;
  readonly data: Uint8Array;
}

/** The answer to an RPC. */
export interface RpcHookResult {
  readonly data?: Uint8Array;
}

/** A connection (or, with `channel`, a subscription) reached its expiry. */
export interface RefreshContext extends HookClient {
  readonly channel?: string;
}

/** The refresh hook's verdict. */
export interface RefreshHookResult {
  /** True: let it expire now (the connection closes with 3005, the subscription ends with 2501). */
  readonly expired?: boolean;
  /** The new expiry, seconds since the Unix epoch; absent = never expires again. */
  readonly expireAt?: number;
  /** New connection (or channel) info. */
  readonly info?: Uint8Array;
}

/** A connected client went away. */
export interface DisconnectContext extends HookClient {
  /** The disconnect the server sent; undefined when the peer went away by itself. */
  readonly disconnect?: Disconnect;
}

/**
 * Application hooks on a node: the library form of the backend proxies (the HTTP proxies are
 * built on them, so both forms run one path).
 *
 * Contract: a hook that returns `undefined` leaves the decision to the node's own rules (the
 * authenticator, namespace permissions); a result means "allowed, like this". To refuse, throw:
 * a `TidingsError` with a `wireCode` (e.g. `clientError(ErrorCode.PermissionDenied)`) becomes
 * the client's reply error; `hookDisconnect(code, reason)` closes the connection with that
 * disconnect; any other error is answered 100 (internal, temporary) and logged. Hooks of one
 * connection run one at a time, in command order.
 */
export interface TidingsHooks {
  /** Before authentication; `undefined` = authenticate with the connect token as usual. */
  onConnecting?(ctx: ConnectingContext): Promise<ConnectingResult | undefined> | ConnectingResult | undefined;
  /** Before the namespace's subscribe permissions are checked; `undefined` = check them. */
  onSubscribe?(ctx: SubscribeContext): Promise<SubscribeHookResult | undefined> | SubscribeHookResult | undefined;
  /** Before the namespace's publish permissions are checked; `undefined` = check them. */
  onPublish?(ctx: PublishContext): Promise<PublishHookResult | undefined> | PublishHookResult | undefined;
  /** Answers an `rpc` command. Without it, every RPC is answered 104 (method not found). */
  onRpc?(ctx: RpcContext): Promise<RpcHookResult> | RpcHookResult;
  /**
   * Server-side refresh of a connection whose credentials came from `onConnecting` with an
   * `expireAt`: called at expiry instead of asking the client for a new token.
   */
  onRefresh?(ctx: RefreshContext): Promise<RefreshHookResult> | RefreshHookResult;
  /** Server-side refresh of a subscription that `onSubscribe` granted with an `expireAt`. */
  onSubRefresh?(ctx: RefreshContext & { readonly channel: string }): Promise<RefreshHookResult> | RefreshHookResult;
  /** After a connected client went away. Errors are logged, never reach the client. */
  onDisconnect?(ctx: DisconnectContext): void | Promise<void>;
  /**
   * Which connection headers later hooks see (`HookClient.headers`); kept with the session
   * after connect, so keep the selection small. Default: none.
   */
  keepHeaders?(headers: IncomingHttpHeaders): Record<string, string>;
}

const disconnectBrand = Symbol.for('tidings.hookDisconnect');

/** Thrown by a hook to close the connection with `disconnect`. */
export class HookDisconnect extends Error {
  readonly disconnect: Disconnect;
  readonly [disconnectBrand] = true;

  constructor(disconnect: Disconnect) {
    super(`disconnect ${disconnect.code}: ${disconnect.reason}`);
    this.name = 'HookDisconnect';
    this.disconnect = disconnect;
  }
}

/** Build the error a hook throws to disconnect the client with `code` and `reason`. */
export function hookDisconnect(code: number, reason: string): HookDisconnect {
  return new HookDisconnect({ code, reason });
}

/** True for a `HookDisconnect`, even from another copy of this package. */
export function isHookDisconnect(value: unknown): value is HookDisconnect {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[disconnectBrand] === true;
}
