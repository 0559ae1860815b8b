import type { IpcMessage, IpcPort } from '@tidings/server';
import { isIpcMessage } from '@tidings/server';
import { type ClusterMessage, isClusterMessage } from './messages.js';

/** Bytes queued towards one worker beyond which the primary holds back its publications. */
export const defaultRelayBacklogBytes = 16 * 1024 * 1024;

/** What `createPrimaryPort` needs of a cluster `Worker` (injected so the port is testable). */
export interface WorkerChannel {
  isConnected(): boolean;
  /** Queues `message`; `written` runs once it has been written to the pipe (or failed). */
  send(message: object, written: () => void): void;
  onMessage(handler: (message: unknown) => void): void;
}

// A publication is its payload plus a small envelope once serialized; the rest is small.
const sizeOf = (message: IpcMessage): number => (message.ipc === 'pub' ? message.pub.data.byteLength + 256 : 256);

/**
 * The primary's `IpcPort` to one worker. Node queues IPC messages without limit, so the port
 * counts the bytes queued and not yet written: past `backlogBytes` `send` returns false (the
 * `IpcEngineHost` then holds back that worker's publications), and `onDrain` fires once the
 * backlog is down to half. Messages that are not the IPC engine's go to `onCluster`.
 */
export function createPrimaryPort(
  worker: WorkerChannel,
  onCluster: (message: ClusterMessage) => void,
  options: { readonly backlogBytes?: number; readonly onBacklog?: (backlogged: boolean) => void } = {},
): IpcPort & { close(): void; readonly backlogBytes: () => number } {
  const backlogBytes = options.backlogBytes ?? defaultRelayBacklogBytes;
  let handler: ((message: IpcMessage) => void) | undefined;
  const closeHandlers: Array<() => void> = [];
  let drainHandler: (() => void) | undefined;
  let queued = 0;
  let backlogged = false;
  worker.onMessage((message) => {
    if (isIpcMessage(message)) handler?.(message);
    else if (isClusterMessage(message)) onCluster(message);
  });
  return {
    send(message) {
      if (!worker.isConnected()) return true;
      const size = sizeOf(message);
      queued += size;
      worker.send(message, () => {
        queued -= size;
        if (backlogged && queued <= backlogBytes / 2) {
          backlogged = false;
          options.onBacklog?.(false);
          drainHandler?.();
        }
      });
      if (queued > backlogBytes && !backlogged) {
        backlogged = true;
        options.onBacklog?.(true);
      }
      return !backlogged;
    },
    onMessage(h) {
      handler = h;
    },
    onClose(h) {
      closeHandlers.push(h);
    },
    onDrain(h) {
      drainHandler = h;
    },
    close() {
      for (const h of closeHandlers.splice(0)) h();
    },
    backlogBytes: () => queued,
  };
}
