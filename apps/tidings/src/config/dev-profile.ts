import { randomBytes } from 'node:crypto';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { ConfigOverride } from './env.js';
import { loadConfig } from './load.js';
import type { ConfigInput, NamespaceConfig, TidingsConfig } from './schema.js';

/** Source of random bytes, injected so tests can pin the generated secrets. */
export type RandomBytes = (size: number) => Buffer;

/** A fresh random secret: 32 bytes, base64url (43 characters). */
export function generateSecret(random: RandomBytes = randomBytes): string {
  return random(32).toString('base64url');
}

/** A fresh random API key: 24 bytes, base64url (32 characters). */
export function generateApiKey(random: RandomBytes = randomBytes): string {
  return random(24).toString('base64url');
}

/** A fresh admin console password: 12 bytes, base64url (16 characters). */
export function generateAdminPassword(random: RandomBytes = randomBytes): string {
  return random(12).toString('base64url');
}

/** Key id of the development profile's HS256 key. */
export const devKeyId = 'dev';
/** Channel the dashboard opens in the development profile. */
export const devDemoChannel = 'demo:chat';

/** Rules of the development profile's `demo` namespace. */
export const demoNamespace: Partial<NamespaceConfig> = Object.freeze({
  historySize: 100,
  historyTtlMs: 10 * 60_000,
  allowRecovery: true,
  presence: true,
  joinLeave: true,
  allowSubscribeForAnonymous: true,
  allowSubscribeForClient: true,
  allowPublishForSubscriber: true,
  allowHistoryForSubscriber: true,
  allowPresenceForSubscriber: true,
});

/** The development profile's `prices` namespace: examples/live-ticker's public, read-only prices. */
export const pricesNamespace: Partial<NamespaceConfig> = Object.freeze({
  historySize: 100,
  historyTtlMs: 10 * 60_000,
  allowRecovery: true,
  allowSubscribeForAnonymous: true,
  allowSubscribeForClient: true,
});

/** Secrets generated for one development run; printed once in the start-up banner. */
export interface DevSecrets {
  /** Set when the generated API key is in effect (not replaced by env or flags). */
  readonly apiKey: string | undefined;
  /** Set when the generated HS256 key is in effect. */
  readonly hmacSecret: string | undefined;
  /** Set when the generated admin console password is in effect. */
  readonly adminPassword?: string | undefined;
}

/** The configuration `tidings serve` runs with, and how it was made. */
export type ServeConfig =
  | { readonly profile: 'file'; readonly config: TidingsConfig }
  | { readonly profile: 'development'; readonly config: TidingsConfig; readonly secrets: DevSecrets };

function developmentOverlay(apiKey: string, hmacSecret: string, adminPassword: string): ConfigInput {
  return {
    admin: { password: adminPassword },
    client: { allowAnonymous: true },
    auth: { keys: [{ kid: devKeyId, alg: 'HS256', secret: hmacSecret }] },
    api: { keys: [apiKey] },
    channels: { namespaces: { demo: { ...demoNamespace }, prices: { ...pricesNamespace } } },
    mqtt: { enabled: true },
    // Cheap (four loopback connections, one small publish every 5 s) and shows the canary metrics.
    canary: { enabled: true },
  };
}

const loopback = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

/**
 * Resolves the configuration of `tidings serve`. With a file, everything is deny-by-default and
 * comes from the file, env and flags. Without one, the development profile applies: loopback
 * only, a fresh API key and HS256 secret, anonymous connections, and a `demo` namespace.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` for invalid values, or when the development profile
 *   is asked to bind a non-loopback address.
 */
export function resolveServeConfig(options: {
  readonly file?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags?: readonly ConfigOverride[];
  readonly random?: RandomBytes;
}): ServeConfig {
  const flags = options.flags ?? [];
  if (options.file !== undefined) {
    return { profile: 'file', config: loadConfig({ file: options.file, env: options.env, flags }) };
  }
  const apiKey = generateApiKey(options.random);
  const hmacSecret = generateSecret(options.random);
  const adminPassword = generateAdminPassword(options.random);
  const config = loadConfig({ base: developmentOverlay(apiKey, hmacSecret, adminPassword), env: options.env, flags });
  if (!loopback.test(config.http.host)) {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `http.host: the development profile (no --config) only binds loopback, got "${config.http.host}"; ` +
        'pass --config FILE to serve other hosts (generate one with `tidings genconfig`)',
    );
  }
  const secrets: DevSecrets = {
    apiKey: config.api.keys.includes(apiKey) ? apiKey : undefined,
    hmacSecret: config.auth.keys.some((k) => k.secret === hmacSecret) ? hmacSecret : undefined,
    adminPassword: config.admin.password === adminPassword ? adminPassword : undefined,
  };
  return { profile: 'development', config, secrets };
}
