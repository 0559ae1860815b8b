import { deserialize, serialize } from 'node:v8';
import type { IpcMessage, IpcPort } from './messages.js';

/** Two connected in-process `IpcPort`s, and a switch that cuts them apart. */
export interface IpcPortPair {
  /** The worker's end (give it to `createIpcEngine`). */
  readonly worker: IpcPort;
  /** The primary's end (give it to `IpcEngineHost.attach`). */
  readonly primary: IpcPort;
  /** Messages sent so far in either direction. */
  readonly sent: () => number;
  /** Cuts the channel: nothing more is delivered and both ends' `onClose` handlers run once. */
  close(): void;
}

/**
 * An in-process channel with what Node's cluster IPC does under `serialization: 'advanced'`:
 * every message is copied with the V8 serializer (so `Uint8Array` stays binary and class
 * instances lose their prototype) and delivered on a later turn, in send order. For tests and
 * for embedding the IPC engine between parts of one process.
 */
export function createIpcPortPair(): IpcPortPair {
  let open = true;
  let count = 0;
  const closeHandlers: Array<() => void> = [];
  const end = (deliverTo: () => ((m: IpcMessage) => void) | undefined): IpcPort => ({
    send(message) {
      if (!open) return;
      count++;
      const bytes = serialize(message);
      setImmediate(() => {
        if (open) deliverTo()?.(deserialize(bytes) as IpcMessage);
      });
    },
    onMessage(handler) {
      handlers.set(this, handler);
    },
    onClose(handler) {
      closeHandlers.push(handler);
    },
  });
  const handlers = new Map<IpcPort, (m: IpcMessage) => void>();
  const worker: IpcPort = end(() => handlers.get(primary));
  const primary: IpcPort = end(() => handlers.get(worker));
  return {
    worker,
    primary,
    sent: () => count,
    close() {
      if (!open) return;
      open = false;
      for (const handler of closeHandlers.splice(0)) handler();
    },
  };
}
