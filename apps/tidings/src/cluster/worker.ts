import cluster from 'node:cluster';
import { createIpcEngine } from '@tidings/server';
import { createLogger } from '../logger.js';
import { startServer } from '../serve.js';
import { stopOnSignals } from '../stop-signals.js';
import { type ClusterMessage, processPort, type WorkerSetup, workerSlotEnv } from './messages.js';
import { WorkerMetricsClient } from './metrics-relay.js';

/** True in a process forked by `runPrimary` (a worker of `tidings serve --workers N`). */
export function isClusterWorker(env: Readonly<Record<string, string | undefined>>): boolean {
  return cluster.isWorker && env[workerSlotEnv] !== undefined;
}

/**
 * One worker of `tidings serve --workers N`: takes its config from the primary (so every worker
 * shares the same resolved config and development secrets), runs the full server on the shared
 * port, with the IPC engine to the primary's memory engine or its own connection to an external
 * engine, and stops gracefully on SIGTERM/SIGINT like a single server.
 */
export async function runWorker(env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const slot = Number(env[workerSlotEnv]);
  let gotSetup: ((setup: WorkerSetup) => void) | undefined;
  const setupReceived = new Promise<WorkerSetup>((resolve) => {
    gotSetup = resolve;
  });
  let metrics: WorkerMetricsClient | undefined;
  const port = processPort((message: ClusterMessage) => {
    if (metrics?.handle(message) === true) return;
    if (message.tidings === 'setup') gotSetup?.(message.setup);
  });
  metrics = new WorkerMetricsClient((message) => port.sendCluster(message));
  port.sendCluster({ tidings: 'hello' });
  const setup = await setupReceived;
  const { config } = setup;
  const logger = createLogger(config.log).child({ worker: slot });
  const server = await startServer(config, {
    logger,
    profile: setup.profile,
    nodeName: `worker-${slot}-${process.pid}`,
    metricsScrape: () => metrics.scrape(),
    ...(config.engine.type === 'memory' ? { engine: createIpcEngine({ port }) } : {}),
    ...(setup.dashboardToken === undefined ? {} : { dashboardToken: setup.dashboardToken }),
    ...(setup.dashboardChannel === undefined ? {} : { dashboardChannel: setup.dashboardChannel }),
    ...(setup.canarySecret === undefined ? {} : { canarySecret: setup.canarySecret }),
  });
  metrics.local = server.metricsJson;
  logger.info({ url: server.url, node: server.node.name }, 'worker listening');
  port.sendCluster({ tidings: 'listening', url: server.url, port: server.port });
  stopOnSignals(server, { logger, timeoutMs: config.http.shutdownTimeoutMs, secondSignalExits: false });
}
