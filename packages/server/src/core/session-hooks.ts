import type { ConnectRequest, Disconnect } from '@tidings/protocol';
import type { Credentials } from '../auth/types.js';
import type { Logger } from '../observability/logger.js';
import type { SessionContext, Transport } from '../transport/types.js';
import {
  type ConnectingContext,
  type ConnectingResult,
  type DisconnectContext,
  isHookDisconnect,
  type RefreshHookResult,
  type TidingsHooks,
} from './hooks.js';

/** What `onConnecting` is told: the connect command and the peer context the edge gave. */
export function connectingContext(
  client: string,
  transport: Transport,
  request: ConnectRequest,
  context: SessionContext,
): ConnectingContext {
  return {
    client,
    transport: transport.name,
    protocol: transport.codec.name,
    requestHeaders: context.headers ?? {},
    ...(request.token ? { token: request.token } : {}),
    ...(request.data !== undefined ? { data: request.data } : {}),
    ...(request.name ? { name: request.name } : {}),
    ...(request.version ? { version: request.version } : {}),
    ...(context.remoteAddress ? { remoteAddress: context.remoteAddress } : {}),
  };
}

/** The credentials a connect hook's result stands for; an empty user is anonymous. */
export function credentialsOf(result: ConnectingResult): Credentials {
  return {
    userId: result.user,
    anonymous: result.user === '',
    channels: result.channels ?? [],
    ...(result.expireAt !== undefined ? { expireAt: result.expireAt } : {}),
    ...(result.info !== undefined && result.info.length > 0 ? { info: result.info } : {}),
  };
}

/** Runs `onDisconnect` after the current turn; its errors are logged, never thrown. */
export function runDisconnectHook(hooks: TidingsHooks, ctx: DisconnectContext, logger: Logger): void {
  const onDisconnect = hooks.onDisconnect;
  if (onDisconnect === undefined) return;
  Promise.resolve()
    .then(() => onDisconnect(ctx))
    .catch((error: unknown) => logger.warn({ client: ctx.client, err: String(error) }, 'disconnect hook failed'));
}

/** What a server-side refresh decided. */
export type RefreshVerdict =
  | { readonly kind: 'expired' }
  | { readonly kind: 'disconnect'; readonly disconnect: Disconnect }
  | { readonly kind: 'extend'; readonly expireAt: number | undefined; readonly info: Uint8Array | undefined };

/**
 * Asks a refresh hook (`onRefresh` or `onSubRefresh`). A hook that fails (the backend is down)
 * extends to `retryAt`, so the connection or subscription is kept and asked again then.
 */
export async function askRefresh<C>(
  hook: (ctx: C) => Promise<RefreshHookResult> | RefreshHookResult,
  ctx: C,
  retryAt: number,
  logger: Logger,
): Promise<RefreshVerdict> {
  try {
    const result = await hook(ctx);
    if (result.expired === true) return { kind: 'expired' };
    return { kind: 'extend', expireAt: result.expireAt, info: result.info };
  } catch (error) {
    if (isHookDisconnect(error)) return { kind: 'disconnect', disconnect: error.disconnect };
    logger.warn({ err: String(error) }, 'refresh hook failed; asking again later');
    return { kind: 'extend', expireAt: retryAt, info: undefined };
  }
}
