import cluster, { type Worker } from 'node:cluster';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { createMemoryEngine, type IpcAttachment, IpcEngineHost } from '@tidings/server';
import type { TidingsLogger } from '../logger.js';
import { RestartBackoff } from './backoff.js';
import { type ClusterMessage, type WorkerSetup, workerSlotEnv } from './messages.js';
import { MetricsRelay } from './metrics-relay.js';
import { createPrimaryPort } from './primary-port.js';

/** Options of `runPrimary`. */
export interface PrimaryOptions {
  readonly setup: WorkerSetup;
  readonly workers: number;
  readonly logger: TidingsLogger;
  /** Called once every worker listens, with the shared URL and port. */
  readonly onListening: (url: string, port: number) => void;
}

interface Slot {
  worker: Worker | undefined;
  forkedAt: number;
  listening: boolean;
  restart: NodeJS.Timeout | undefined;
}

const ignore = (): void => undefined;

/**
 * The primary of `tidings serve --workers N`: forks N workers that share the listening socket
 * (node:cluster; round-robin accept on Linux), and with engine "memory" owns the one memory
 * engine behind an `IpcEngineHost`, so offsets stay assigned in one process.
 *
 * Lifecycle: resolves once every worker listens; rejects (and stops the others) when a worker
 * exits before it ever listened. A worker that dies later is started again after a bounded
 * backoff. SIGTERM/SIGINT is forwarded to every worker (each disconnects its clients with 3001);
 * the primary exits 0 when all exited with 0, 1 otherwise, when `http.shutdownTimeoutMs` (plus a
 * second) runs out, or on a second signal (workers are then killed).
 */
export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { setup, logger, workers } = options;
  const { config } = setup;
  // Advanced serialization is the V8 structured clone: publication bytes cross as binary. The
  // default JSON one would turn every Uint8Array into an object of numbered keys (several times
  // larger, and slow to build and parse) and lose the type, so payloads would need base64.
  cluster.setupPrimary({ serialization: 'advanced' });
  const host =
    config.engine.type === 'memory'
      ? new IpcEngineHost(
          createMemoryEngine({
            idempotencyWindowMs: config.idempotencyWindowMs,
            idempotencyLimits: { maxKeys: config.idempotencyMaxKeys, maxBytes: config.idempotencyMaxBytes },
          }),
        )
      : undefined;
  await host?.start();

  const slots = new Map<number, Slot>();
  const backoff = new RestartBackoff();
  let stopping = false;
  let allListening = false;
  let failStart: ((error: Error) => void) | undefined;
  let resolveStart: (() => void) | undefined;
  const started = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    failStart = reject;
  });
  let exitCode = 0;
  let failed = false;

  const live = () => [...slots.values()].filter((s) => s.worker !== undefined);
  const metricsRelay = new MetricsRelay();
  const sendTo =
    (worker: Worker) =>
    (message: ClusterMessage): void =>
      void worker.send(message, undefined, undefined, ignore);
  const listeningWorkers = () =>
    [...slots.values()].flatMap((s) => (s.worker !== undefined && s.listening ? [sendTo(s.worker)] : []));

  const finish = async () => {
    await host?.close();
    logger.info({ exitCode }, 'stopped');
    process.exit(exitCode);
  };

  const fork = (index: number): void => {
    const worker = cluster.fork({ [workerSlotEnv]: String(index) });
    const slot: Slot = { worker, forkedAt: Date.now(), listening: false, restart: undefined };
    slots.set(index, slot);
    const port = createPrimaryPort(
      {
        isConnected: () => worker.isConnected(),
        send: (message, written) => worker.send(message, undefined, undefined, written),
        onMessage: (handler) => worker.on('message', handler),
      },
      (message) => {
        if (metricsRelay.handle(message, sendTo(worker), listeningWorkers)) return;
        if (message.tidings === 'hello') worker.send({ tidings: 'setup', setup }, undefined, undefined, ignore);
        else if (message.tidings === 'listening') {
          slot.listening = true;
          logger.debug({ worker: index, pid: worker.process.pid }, 'worker listening');
          if (!allListening && [...slots.values()].every((s) => s.listening)) {
            allListening = true;
            options.onListening(message.url, message.port);
            resolveStart?.();
          }
        }
      },
      {
        onBacklog: (behind) =>
          behind
            ? logger.warn(
                { worker: index },
                'worker fell behind: holding back its publications (it re-checks from history)',
              )
            : logger.info({ worker: index }, 'worker caught up'),
      },
    );
    const attachment: IpcAttachment | undefined = host?.attach(port);
    worker.once('exit', (code, signal) => {
      port.close();
      attachment?.detach();
      slot.worker = undefined;
      if (stopping) {
        if (code !== 0) exitCode = 1;
        if (live().length === 0 && !failed) void finish();
        return;
      }
      if (!allListening) {
        failed = true;
        stopAll('SIGTERM');
        const how = signal ?? `code ${code}`;
        failStart?.(new TidingsError(TidingsErrorCode.State, `worker ${index} exited (${how}) before it listened`));
        return;
      }
      const delayMs = backoff.next(index, Date.now() - slot.forkedAt);
      logger.warn({ worker: index, code, signal, delayMs }, 'worker exited unexpectedly; starting a new one');
      slot.restart = setTimeout(() => {
        slot.restart = undefined;
        if (!stopping) fork(index);
      }, delayMs);
    });
  };

  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const slot of slots.values()) {
      clearTimeout(slot.restart);
      // Not worker.kill(): it disconnects the IPC channel first, and a draining worker still
      // needs the primary's engine to publish leaves and drop presence.
      slot.worker?.process.kill(signal);
    }
  };

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: killing the workers and exiting now');
      stopAll('SIGKILL');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal, workers: live().length, timeoutMs: config.http.shutdownTimeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.http.shutdownTimeoutMs }, 'graceful shutdown timed out; killing the workers');
      stopAll('SIGKILL');
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 1000);
    force.unref();
    stopAll('SIGTERM');
    if (live().length === 0) void finish();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let i = 0; i < workers; i++) fork(i);
  try {
    await started;
  } catch (error) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await host?.close();
    throw error;
  }
}
