import type { IncomingHttpHeaders } from 'node:http';
import { clientError, ErrorCode, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { HookClient, TidingsHooks } from '../core/hooks.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import { type BackendCallOptions, callBackend, type ProxyEndpoint, type ProxyKind } from './backend-call.js';
import { bytesField, dataFields, encodingOf, numberField, pickHeaders, stringList } from './proxy-payload.js';

/** The per-namespace proxies: channel events of channels in one namespace. */
export interface NamespaceProxies {
  readonly subscribe?: ProxyEndpoint;
  readonly publish?: ProxyEndpoint;
  readonly subRefresh?: ProxyEndpoint;
  /** RPCs whose method is `<namespace>:<name>`. */
  readonly rpc?: ProxyEndpoint;
}

/** Options of `createHttpProxyHooks`. Plain objects; validated once. */
export interface HttpProxyOptions {
  /** Authenticates connections that come without a token. */
  readonly connect?: ProxyEndpoint;
  /** Refreshes connections the connect proxy gave an `expire_at`. */
  readonly refresh?: ProxyEndpoint;
  /** RPCs whose method has no namespace (or whose namespace has no `rpc` proxy). */
  readonly rpc?: ProxyEndpoint;
  /** Per namespace name; `""` is the default namespace (channels without `:`). */
  readonly namespaces?: Readonly<Record<string, NamespaceProxies>>;
  /** Request headers forwarded to the backend (case-insensitive allow-list). Default none. */
  readonly httpHeaders?: readonly string[];
  /** Cookies forwarded to the backend in a `Cookie` header (allow-list of names). Default none. */
  readonly cookies?: readonly string[];
  /** Headers added to every backend request, e.g. a shared secret the backend checks. */
  readonly staticHeaders?: Readonly<Record<string, string>>;
  /** Per attempt, unless the endpoint sets its own. Default 1000. */
  readonly timeoutMs?: number;
  /** Extra attempts of idempotent calls (connect, refresh, subscribe, sub_refresh). Default 1. */
  readonly retries?: number;
  /** Largest backend reply accepted. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  readonly logger?: Logger;
  /** Test seam; default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * Hooks that ask the application over HTTP, in Centrifugo's proxy format (a JSON POST with
 * `client`, `transport`, `protocol`, `encoding`, `user`, `channel`, `data`/`b64data`, `meta`;
 * a reply `{ result }`, `{ error: { code, message } }` or `{ disconnect: { code, reason } }`),
 * so backends written for Centrifugo work as they are. Pass them as `NodeOptions.hooks`.
 *
 * Contract: the connect proxy is asked only for connections without a token (a token is
 * verified as usual); a channel event goes to its namespace's proxy, and a namespace without one
 * keeps its configured permissions. A slow, failing or unreachable backend gives the client
 * reply error 100 (temporary), message "backend timeout" or "backend error"; only idempotent
 * calls are retried.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` for an endpoint URL that is not http(s) or a bad number.
 */
export function createHttpProxyHooks(options: HttpProxyOptions): TidingsHooks {
  const namespaces = options.namespaces ?? {};
  for (const [path, endpoint] of endpointsOf(options)) checkEndpoint(path, endpoint);
  const call: BackendCallOptions = {
    timeoutMs: positive('proxy.timeoutMs', options.timeoutMs ?? 1000),
    retries: nonNegative('proxy.retries', options.retries ?? 1),
    maxResponseBytes: positive('proxy.maxResponseBytes', options.maxResponseBytes ?? 1024 * 1024),
    logger: options.logger ?? silentLogger,
    fetch: options.fetch ?? fetch,
  };
  const httpHeaders = (options.httpHeaders ?? []).map((h) => h.toLowerCase());
  const cookies = options.cookies ?? [];
  const staticHeaders = options.staticHeaders ?? {};
  const keep = (headers: IncomingHttpHeaders) => pickHeaders(headers, httpHeaders, cookies);
  const send = (kind: ProxyKind, endpoint: ProxyEndpoint, body: Record<string, unknown>, headers: object) =>
    callBackend(kind, endpoint, body, { ...(headers as Record<string, string>), ...staticHeaders }, call);
  const base = (c: HookClient) => ({
    client: c.client,
    transport: c.transport,
    protocol: c.protocol,
    encoding: encodingOf(c.protocol),
    user: c.user,
    ...(c.meta !== undefined ? { meta: c.meta } : {}),
  });
  const forChannel = (channel: string): NamespaceProxies | undefined => {
    const colon = channel.indexOf(':');
    return namespaces[colon === -1 ? '' : channel.slice(0, colon)];
  };

  const hooks: TidingsHooks = {
    keepHeaders: keep,
    async onSubscribe(ctx) {
      const endpoint = forChannel(ctx.channel)?.subscribe;
      if (endpoint === undefined) return undefined;
      const body = { ...base(ctx), channel: ctx.channel, ...(ctx.token ? { token: ctx.token } : {}) };
      const r = await send('subscribe', endpoint, { ...body, ...dataFields(ctx.protocol, ctx.data) }, ctx.headers);
      const info = bytesField(r, 'info');
      const data = bytesField(r, 'data');
      const expireAt = numberField(r, 'expire_at');
      return {
        ...(info !== undefined ? { info } : {}),
        ...(data !== undefined ? { data } : {}),
        ...(expireAt !== undefined && expireAt > 0 ? { expireAt } : {}),
      };
    },
    async onPublish(ctx) {
      const endpoint = forChannel(ctx.channel)?.publish;
      if (endpoint === undefined) return undefined;
      const body = { ...base(ctx), channel: ctx.channel, ...dataFields(ctx.protocol, ctx.data) };
      const r = await send('publish', endpoint, body, ctx.headers);
      const data = bytesField(r, 'data');
      return { ...(data !== undefined ? { data } : {}), ...(r.skip_history === true ? { skipHistory: true } : {}) };
    },
    async onSubRefresh(ctx) {
      const endpoint = forChannel(ctx.channel)?.subRefresh;
      // Only subscriptions the subscribe proxy granted with an expiry get here. Without a
      // sub_refresh proxy they end at it (2501) and the SDK resubscribes: the subscribe proxy decides again.
      if (endpoint === undefined) return { expired: true };
      return refreshResult(await send('sub_refresh', endpoint, { ...base(ctx), channel: ctx.channel }, ctx.headers));
    },
  };
  const { connect, refresh } = options;
  if (connect !== undefined) {
    hooks.onConnecting = async (ctx) => {
      if (ctx.token !== undefined) return undefined;
      const body = {
        client: ctx.client,
        transport: ctx.transport,
        protocol: ctx.protocol,
        encoding: encodingOf(ctx.protocol),
        ...(ctx.name ? { name: ctx.name } : {}),
        ...(ctx.version ? { version: ctx.version } : {}),
        ...dataFields(ctx.protocol, ctx.data),
      };
      const r = await send('connect', connect, body, keep(ctx.requestHeaders));
      const info = bytesField(r, 'info');
      const data = bytesField(r, 'data');
      const expireAt = numberField(r, 'expire_at');
      const subs = r.subs;
      const channels = [
        ...stringList(r.channels),
        ...(typeof subs === 'object' && subs !== null ? Object.keys(subs) : []),
      ];
      return {
        user: typeof r.user === 'string' ? r.user : '',
        ...(expireAt !== undefined && expireAt > 0 ? { expireAt } : {}),
        ...(info !== undefined ? { info } : {}),
        ...(data !== undefined ? { data } : {}),
        ...(channels.length > 0 ? { channels } : {}),
        ...(r.meta !== undefined ? { meta: r.meta } : {}),
      };
    };
  }
  if (refresh !== undefined) {
    hooks.onRefresh = async (ctx) => refreshResult(await send('refresh', refresh, base(ctx), ctx.headers));
  }
  const rpcNamespaces = Object.values(namespaces).some((ns) => ns.rpc !== undefined);
  if (options.rpc !== undefined || rpcNamespaces) {
    hooks.onRpc = async (ctx) => {
      const colon = ctx.method.indexOf(':');
      const endpoint = (colon === -1 ? undefined : namespaces[ctx.method.slice(0, colon)]?.rpc) ?? options.rpc;
      if (endpoint === undefined) throw clientError(ErrorCode.MethodNotFound);
      const body = { ...base(ctx), method: ctx.method, ...dataFields(ctx.protocol, ctx.data) };
      const data = bytesField(await send('rpc', endpoint, body, ctx.headers), 'data');
      return data !== undefined ? { data } : {};
    };
  }
  return hooks;
}

function refreshResult(r: Record<string, unknown>) {
  const info = bytesField(r, 'info');
  const expireAt = numberField(r, 'expire_at');
  return {
    ...(r.expired === true ? { expired: true } : {}),
    ...(expireAt !== undefined && expireAt > 0 ? { expireAt } : {}),
    ...(info !== undefined ? { info } : {}),
  };
}

function endpointsOf(options: HttpProxyOptions): Array<[string, ProxyEndpoint]> {
  const list: Array<[string, ProxyEndpoint | undefined]> = [
    ['proxy.connect', options.connect],
    ['proxy.refresh', options.refresh],
    ['proxy.rpc', options.rpc],
  ];
  for (const [name, ns] of Object.entries(options.namespaces ?? {})) {
    for (const key of ['subscribe', 'publish', 'subRefresh', 'rpc'] as const) {
      list.push([`proxy.namespaces.${name}.${key}`, ns[key]]);
    }
  }
  return list.filter((entry): entry is [string, ProxyEndpoint] => entry[1] !== undefined);
}

function checkEndpoint(path: string, endpoint: ProxyEndpoint): void {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new TidingsError(TidingsErrorCode.Config, `${path}.url: not a URL: ${endpoint.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TidingsError(TidingsErrorCode.Config, `${path}.url: must be http or https, got ${url.protocol}`);
  }
  if (endpoint.timeoutMs !== undefined) positive(`${path}.timeoutMs`, endpoint.timeoutMs);
}

function positive(path: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TidingsError(TidingsErrorCode.Config, `${path}: expected a positive number, got ${value}`);
  }
  return value;
}

function nonNegative(path: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new TidingsError(TidingsErrorCode.Config, `${path}: expected a non-negative integer, got ${value}`);
  }
  return value;
}
