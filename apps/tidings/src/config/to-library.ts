import { availableParallelism } from 'node:os';
import type { RedisEngineOptions } from '@tidings/redis';
import type {
  ChannelsOptions,
  ClientOptions,
  HttpProxyOptions,
  JwtAuthenticatorOptions,
  JwtKeyConfig,
  NamespaceOptions,
  NamespaceProxies,
  ProxyEndpoint,
} from '@tidings/server';
import type { NamespaceConfig, TidingsConfig } from './schema.js';

// The library takes plain option objects without `undefined` members (exactOptionalPropertyTypes);
// these adapters copy the validated config into them.

function namespaceOptions(ns: NamespaceConfig): Partial<NamespaceOptions> {
  const { channelRegex, ...rest } = ns;
  return channelRegex === undefined ? rest : { ...rest, channelRegex };
}

/** `channels.*` as the node's `ChannelsOptions`. */
export function toChannelsOptions(channels: TidingsConfig['channels']): ChannelsOptions {
  const namespaces: Record<string, Partial<NamespaceOptions>> = {};
  for (const [name, ns] of Object.entries(channels.namespaces)) namespaces[name] = namespaceOptions(ns);
  return {
    defaults: namespaceOptions(channels.defaults),
    namespaces,
    maxChannelLength: channels.maxChannelLength,
  };
}

/** `client.*` (minus the auth-related `allowAnonymous`) as the node's `ClientOptions`. */
export function toClientOptions(client: TidingsConfig['client']): ClientOptions {
  const { allowAnonymous: _, ...options } = client;
  return options;
}

/** The verification keys of `auth.keys` (the `auth.hmacSecret` shortcut is already among them). */
export function toJwtKeys(keys: TidingsConfig['auth']['keys']): JwtKeyConfig[] {
  return keys.map((key) => ({
    alg: key.alg,
    ...(key.kid === undefined ? {} : { kid: key.kid }),
    ...(key.secret === undefined ? {} : { secret: key.secret }),
    ...(key.publicKey === undefined ? {} : { publicKey: key.publicKey }),
  }));
}

/** `auth.*` and `client.allowAnonymous` as `createJwtAuthenticator` options. */
export function toAuthenticatorOptions(config: TidingsConfig): JwtAuthenticatorOptions {
  const { audience, issuer, requireExp, keys, maxTokenLifetimeSec } = config.auth;
  return {
    keys: toJwtKeys(keys),
    requireExp,
    maxTokenLifetimeSec,
    allowAnonymous: config.client.allowAnonymous,
    ...(audience === undefined ? {} : { audience }),
    ...(issuer === undefined ? {} : { issuer }),
  };
}

/** `engine` (type "redis") as `createRedisEngine` options; `clusterNodes` wins over `cluster`. */
export function toRedisEngineOptions(
  engine: Extract<TidingsConfig['engine'], { type: 'redis' }>,
  idempotencyWindowMs: number,
): RedisEngineOptions {
  const cluster = engine.clusterNodes ?? engine.cluster;
  return {
    url: engine.url,
    prefix: engine.prefix,
    connectTimeoutMs: engine.connectTimeoutMs,
    commandTimeoutMs: engine.commandTimeoutMs,
    idempotencyWindowMs,
    ...(engine.shardedPubSub === undefined ? {} : { shardedPubSub: engine.shardedPubSub }),
    ...(cluster === undefined ? {} : { cluster }),
  };
}

/** `workers` as a process count: "auto" is one per core the process may use (at least 1). */
export function toWorkerCount(workers: TidingsConfig['workers'], cores: number = availableParallelism()): number {
  return workers === 'auto' ? Math.max(1, cores) : workers;
}

type EndpointConfig = TidingsConfig['proxy']['connect'];
type NamespaceProxyConfig = NonNullable<TidingsConfig['proxy']['defaults']>;

function endpoint(config: EndpointConfig): ProxyEndpoint | undefined {
  if (config === undefined) return undefined;
  return config.timeoutMs === undefined ? { url: config.url } : { url: config.url, timeoutMs: config.timeoutMs };
}

function namespaceProxies(ns: NamespaceProxyConfig): NamespaceProxies {
  const out: Record<string, ProxyEndpoint> = {};
  for (const key of ['subscribe', 'publish', 'subRefresh', 'rpc'] as const) {
    const e = endpoint(ns[key]);
    if (e !== undefined) out[key] = e;
  }
  return out;
}

/** `proxy.*` as `createHttpProxyHooks` options; undefined when no proxy endpoint is configured. */
export function toProxyOptions(proxy: TidingsConfig['proxy']): HttpProxyOptions | undefined {
  const namespaces: Record<string, NamespaceProxies> = {};
  if (proxy.defaults !== undefined) namespaces[''] = namespaceProxies(proxy.defaults);
  for (const [name, ns] of Object.entries(proxy.namespaces)) namespaces[name] = namespaceProxies(ns);
  const top: Record<string, ProxyEndpoint> = {};
  for (const key of ['connect', 'refresh', 'rpc'] as const) {
    const e = endpoint(proxy[key]);
    if (e !== undefined) top[key] = e;
  }
  const any = Object.keys(top).length > 0 || Object.values(namespaces).some((ns) => Object.keys(ns).length > 0);
  if (!any) return undefined;
  return {
    ...top,
    namespaces,
    httpHeaders: proxy.httpHeaders,
    cookies: proxy.cookies,
    staticHeaders: proxy.staticHeaders,
    timeoutMs: proxy.timeoutMs,
    retries: proxy.retries,
    maxResponseBytes: proxy.maxResponseBytes,
  };
}
