import { signToken } from '@tidings/server';
import { renderBanner } from './banner.js';
import { createCanarySecret } from './canary/canary-login.js';
import { workerSlotEnv } from './cluster/messages.js';
import { runPrimary } from './cluster/primary.js';
import { isClusterWorker, runWorker } from './cluster/worker.js';
import { devDemoChannel, devKeyId, resolveServeConfig } from './config/dev-profile.js';
import type { ConfigOverride } from './config/env.js';
import { unknownEnvNames } from './config/env.js';
import { toWorkerCount } from './config/to-library.js';
import { createLogger } from './logger.js';
import type { CliIo } from './program.js';
import { startServer } from './serve.js';
import { stopOnSignals } from './stop-signals.js';
import { packageVersion } from './version.js';

const devTokenUser = 'dashboard';
const devTokenTtlSec = 24 * 3600;

/**
 * `tidings serve`: resolves the config, starts the server, prints the development banner when
 * there is no config file, and stops gracefully on SIGTERM/SIGINT: exit 0 once every client got
 * 3001 (shutdown) and the listener closed, exit 1 when `http.shutdownTimeoutMs` runs out or a
 * second signal arrives.
 *
 * With `workers` above 1 this process becomes the primary of that many worker processes on the
 * same port (see `runPrimary`); the banner and the `listening` line then come from the primary,
 * once every worker listens.
 *
 * The first log line at info level, `listening`, carries the bound `url` (parseable with port 0).
 */
export async function runServe(options: {
  readonly file: string | undefined;
  readonly flags: readonly ConfigOverride[];
  readonly io: CliIo;
}): Promise<void> {
  const { io } = options;
  if (isClusterWorker(io.env)) return runWorker(io.env);
  const resolved = resolveServeConfig({ file: options.file, env: io.env, flags: options.flags });
  const { config } = resolved;
  const logger = createLogger(config.log);
  for (const name of unknownEnvNames(io.env)) {
    if (name === workerSlotEnv) continue;
    logger.warn({ env: name }, 'ignoring unknown TIDINGS_* environment variable (see docs/configuration.md)');
  }

  const dev = resolved.profile === 'development' ? resolved.secrets : undefined;
  const devToken =
    dev?.hmacSecret === undefined
      ? undefined
      : await signToken(
          { sub: devTokenUser },
          { alg: 'HS256', kid: devKeyId, secret: dev.hmacSecret },
          { expiresInSec: devTokenTtlSec },
        );
  const workers = toWorkerCount(config.workers);

  const announce = (url: string, port: number): void => {
    logger.info(
      {
        url,
        port,
        profile: resolved.profile,
        engine: config.engine.type,
        websocket: config.websocket.path,
        version: packageVersion(),
        workers,
      },
      'listening',
    );
    if (dev !== undefined) {
      io.stderr.write(
        renderBanner({
          version: packageVersion(),
          url,
          websocketPath: config.websocket.path,
          secrets: dev,
          devToken,
          devTokenUser,
          devTokenTtlSec,
          channel: devDemoChannel,
          workers,
          engine: config.engine.type,
          admin: config.admin.password !== undefined || config.admin.token !== undefined,
          ...(dev.apiKey === undefined && config.api.keys.length > 0 && io.env.TIDINGS_API_KEYS !== undefined
            ? { apiKeyEnv: 'TIDINGS_API_KEYS' }
            : {}),
        }),
      );
    }
  };

  const dashboard = {
    ...(devToken === undefined ? {} : { dashboardToken: devToken }),
    ...(dev === undefined ? {} : { dashboardChannel: devDemoChannel }),
  };
  if (workers > 1) {
    await runPrimary({
      setup: {
        config,
        profile: resolved.profile,
        ...dashboard,
        ...(config.canary.enabled ? { canarySecret: createCanarySecret() } : {}),
      },
      workers,
      logger,
      onListening: announce,
    });
    return;
  }
  const server = await startServer(config, { logger, profile: resolved.profile, ...dashboard });
  announce(server.url, server.port);
  stopOnSignals(server, { logger, timeoutMs: config.http.shutdownTimeoutMs, secondSignalExits: true });
  if (config.http.tls !== undefined || (config.mqtt.enabled && config.mqtt.tls !== undefined))
    reloadTlsOnSighup(server, logger);
}

/** SIGHUP re-reads the TLS certificates and keys (HTTP and MQTT); a bad pair is logged and the old one kept. */
function reloadTlsOnSighup(
  server: { reloadTls(): void },
  logger: { info(o: object, m?: string): void; error(o: object, m?: string): void },
): void {
  process.on('SIGHUP', () => {
    try {
      server.reloadTls();
      logger.info({}, 'tls: certificate reloaded');
    } catch (error) {
      logger.error({ err: error }, 'tls: reload failed, keeping the previous certificate');
    }
  });
}
