import type { Logger } from '@tidings/server';

/** Options of `stopOnSignals`. */
export interface StopOnSignalsOptions {
  readonly logger: Logger;
  /** After this long the process exits with 1 whatever is left (`http.shutdownTimeoutMs`). */
  readonly timeoutMs: number;
  /**
   * Whether a second signal exits at once with 1. A worker of `--workers` says no: a Ctrl-C in a
   * terminal reaches it directly and again through its primary, and the primary escalates itself.
   */
  readonly secondSignalExits: boolean;
}

/**
 * Stops `server` gracefully on SIGTERM or SIGINT: exit 0 once `close()` resolved, exit 1 when it
 * fails or `timeoutMs` runs out.
 */
export function stopOnSignals(server: { close(): Promise<void> }, options: StopOnSignalsOptions): void {
  const { logger, timeoutMs } = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      if (!options.secondSignalExits) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
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
