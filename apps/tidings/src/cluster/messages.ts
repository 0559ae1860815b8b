import type { IpcMessage, IpcPort } from '@tidings/server';
import { isIpcMessage } from '@tidings/server';
import type { TidingsConfig } from '../config/schema.js';

/** The environment variable that tells a forked process it is worker number N of `--workers`. */
export const workerSlotEnv = 'TIDINGS_WORKER_SLOT';

/** What a worker needs to run: the primary resolved it once, so every worker shares its secrets. */
export interface WorkerSetup {
  readonly config: TidingsConfig;
  readonly profile: 'development' | 'file';
  readonly dashboardToken?: string;
  readonly dashboardChannel?: string;
  /** The canary secret every worker accepts (`canary.enabled`): a probe may land on another worker. */
  readonly canarySecret?: string;
}

/**
 * Primary ↔ worker messages besides the IPC engine's: the worker says `hello` once its handler
 * is installed (so nothing the primary sends can be missed), the primary answers `setup`, and the
 * worker reports `listening` once its HTTP server is bound.
 */
export type ClusterMessage =
  | { readonly tidings: 'hello' }
  | { readonly tidings: 'setup'; readonly setup: WorkerSetup }
  | { readonly tidings: 'listening'; readonly url: string; readonly port: number }
  // /metrics aggregated by the primary (cluster/metrics-relay.ts)
  | { readonly tidings: 'metrics-scrape'; readonly id: number }
  | { readonly tidings: 'metrics-collect'; readonly id: number }
  | { readonly tidings: 'metrics-part'; readonly id: number; readonly metrics: object[] }
  | { readonly tidings: 'metrics-text'; readonly id: number; readonly text: string; readonly error?: string };

/** True for a `ClusterMessage`. */
export function isClusterMessage(value: unknown): value is ClusterMessage {
  return typeof value === 'object' && value !== null && typeof (value as { tidings?: unknown }).tidings === 'string';
}

const ignore = (): void => undefined;

/**
 * The worker's `IpcPort` over its cluster IPC channel (`process.send`). Messages of the IPC
 * engine go to the port's handler; `onCluster` receives the others.
 */
export function processPort(onCluster: (message: ClusterMessage) => void): IpcPort & {
  sendCluster(message: ClusterMessage): void;
} {
  let handler: ((message: IpcMessage) => void) | undefined;
  process.on('message', (message: unknown) => {
    if (isIpcMessage(message)) handler?.(message);
    else if (isClusterMessage(message)) onCluster(message);
  });
  // The callback turns a send on a closing channel into a no-op instead of an 'error' event.
  const send = (message: object): boolean =>
    process.connected ? (process.send?.(message, undefined, undefined, ignore) ?? true) : true;
  return {
    send,
    sendCluster: (message) => void send(message),
    onMessage(h) {
      handler = h;
    },
    onClose(h) {
      process.once('disconnect', h);
    },
  };
}
