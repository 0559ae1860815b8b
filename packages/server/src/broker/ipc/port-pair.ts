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
  /** Holds back primary → worker messages; the primary's `send` returns false meanwhile. */
  stall(): void;
  /** Delivers what was held back, in order, then runs the primary end's `onDrain` handlers. */
  resume(): void;
}

/**
 * An in-process channel with what Node's cluster IPC does under `serialization: 'advanced'`:
 * every message is copied with the V8 serializer (so `Uint8Array` stays binary and class
 * instances lose their prototype) and delivered on a later turn, in send order. For tests and
 * for embedding the IPC engine between parts of one process.
 */
export function createIpcPortPair(): IpcPortPair {
  let open = true;
  let stalled = false;
  let count = 0;
  const held: Uint8Array[] = [];
  const handlers = new Map<IpcPort, (m: IpcMessage) => void>();
  const closeHandlers: Array<() => void> = [];
  const drainHandlers: Array<() => void> = [];
  const deliver = (to: () => IpcPort, bytes: Uint8Array) =>
    setImmediate(() => {
      if (open) handlers.get(to())?.(deserialize(bytes) as IpcMessage);
    });
  const end = (peer: () => IpcPort, canStall: boolean): IpcPort => {
    const port: IpcPort = {
      send(message) {
        if (!open) return true;
        count++;
        const bytes = serialize(message);
        if (canStall && stalled) {
          held.push(bytes);
          return false;
        }
        deliver(peer, bytes);
        return true;
      },
      onMessage(handler) {
        handlers.set(port, handler);
      },
      onClose(handler) {
        closeHandlers.push(handler);
      },
      onDrain(handler) {
        if (canStall) drainHandlers.push(handler);
      },
    };
    return port;
  };
  const worker: IpcPort = end(() => primary, false);
  const primary: IpcPort = end(() => worker, true);
  return {
    worker,
    primary,
    sent: () => count,
    close() {
      if (!open) return;
      open = false;
      for (const handler of closeHandlers.splice(0)) handler();
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const bytes of held.splice(0)) deliver(() => worker, bytes);
      for (const handler of drainHandlers) handler();
    },
  };
}
