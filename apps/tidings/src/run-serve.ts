import { signToken } from '@tidings/server';
import { renderBanner } from './banner.js';
import { devDemoChannel, devKeyId, resolveServeConfig } from './config/dev-profile.js';
import type { ConfigOverride } from './config/env.js';
import { unknownEnvNames } from './config/env.js';
import { createLogger } from './logger.js';
import type { CliIo } from './program.js';
import { startServer } from './serve.js';
import { packageVersion } from './version.js';

const devTokenUser = 'dashboard';
const devTokenTtlSec = 24 * 3600;

/**
 * `tidings serve`: resolves the config, starts the server, prints the development banner when
 * there is no config file, and stops gracefully on SIGTERM/SIGINT: exit 0 once every client got
 * 3001 (shutdown) and the listener closed, exit 1 when `http.shutdownTimeoutMs` runs out or a
 * second signal arrives.
 *
 * The first log line at info level, `listening`, carries the bound `url` (parseable with port 0).
 */
export async function runServe(options: {
  readonly file: string | undefined;
  readonly flags: readonly ConfigOverride[];
  readonly io: CliIo;
}): Promise<void> {
  const { io } = options;
  const resolved = resolveServeConfig({ file: options.file, env: io.env, flags: options.flags });
  const { config } = resolved;
  const logger = createLogger(config.log);
  for (const name of unknownEnvNames(io.env)) {
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

  const server = await startServer(config, {
    logger,
    profile: resolved.profile,
    ...(devToken === undefined ? {} : { dashboardToken: devToken }),
    ...(dev === undefined ? {} : { dashboardChannel: devDemoChannel }),
  });
  logger.info(
    {
      url: server.url,
      port: server.port,
      profile: resolved.profile,
      engine: config.engine.type,
      websocket: config.websocket.path,
      version: packageVersion(),
    },
    'listening',
  );
  if (dev !== undefined) {
    io.stderr.write(
      renderBanner({
        version: packageVersion(),
        url: server.url,
        websocketPath: config.websocket.path,
        secrets: dev,
        devToken,
        devTokenUser,
        devTokenTtlSec,
        channel: devDemoChannel,
      }),
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.http.shutdownTimeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.http.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs);
    server.close().then(
      () => {
        clearTimeout(force);
        logger.info({}, 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
