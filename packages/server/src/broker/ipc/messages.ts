import type { ClientInfo } from '@tidings/protocol';
import { isTidingsError, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { StateEntry, StreamPublication } from '../types.js';

/**
 * One end of a message channel between a worker's IPC engine and the primary's host: Node's
 * cluster IPC (`process.send` / `worker.on('message')`), a `MessagePort`, or an in-memory pair in
 * tests. Messages are plain data (numbers, strings, objects, arrays, `Uint8Array`): a structured
 * clone keeps the bytes binary, a JSON channel would not. Contract: messages arrive in the order
 * they were sent, or not at all once the channel is gone.
 */
export interface IpcPort {
  /**
   * Sends one message; must not throw when the other side is gone (drop it instead). Returns
   * false when the channel's backlog is past its bound (the message is still queued); the host
   * then holds back publications until `onDrain` fires.
   */
  send(message: IpcMessage): boolean;
  /** Registers the handler of every message received (called once per port). */
  onMessage(handler: (message: IpcMessage) => void): void;
  /** Registers a handler called once when the other side is gone for good. Optional. */
  onClose?(handler: () => void): void;
  /** Registers a handler called whenever a backlog reported by `send` has been written out. */
  onDrain?(handler: () => void): void;
}

/** The operations a worker asks the primary to run on its engine. */
export type IpcOperation =
  | { readonly op: 'ping' }
  | { readonly op: 'subscribe'; readonly channels: readonly string[] }
  | { readonly op: 'unsubscribe'; readonly channels: readonly string[] }
  | { readonly op: 'subscribePrefixes' | 'unsubscribePrefixes'; readonly prefixes: readonly string[] }
  | { readonly op: 'publish'; readonly channel: string; readonly data: Uint8Array; readonly options: object }
  | {
      readonly op: 'publishMany';
      readonly items: ReadonlyArray<{ readonly channel: string; readonly data: Uint8Array; readonly options?: object }>;
    }
  | { readonly op: 'publishJoin' | 'publishLeave'; readonly channel: string; readonly info: ClientInfo }
  | { readonly op: 'history'; readonly channel: string; readonly query: object }
  | { readonly op: 'removeHistory'; readonly channel: string }
  | { readonly op: 'channels'; readonly prefix: string; readonly limit: number }
  | {
      readonly op: 'presenceAdd';
      readonly channel: string;
      readonly clientId: string;
      readonly info: ClientInfo;
      readonly ttlMs: number;
    }
  | { readonly op: 'presenceRemove'; readonly channel: string; readonly clientId: string }
  | { readonly op: 'presenceGet' | 'presenceStats'; readonly channel: string }
  | { readonly op: 'statePut'; readonly channel: string; readonly entry: StateEntry; readonly ttlMs: number }
  | { readonly op: 'stateGet'; readonly channel: string; readonly key: string }
  | { readonly op: 'stateSnapshot'; readonly channel: string }
  | { readonly op: 'stateRemove'; readonly channel: string; readonly key?: string };

/** Worker → primary: run `op`; answered by a `res` or `err` with the same `id`. */
export type IpcRequest = { readonly ipc: 'req'; readonly id: number } & IpcOperation;

/** Every message of the IPC engine protocol; `ipc` tells the kind. */
export type IpcMessage =
  | IpcRequest
  | { readonly ipc: 'res'; readonly id: number; readonly value?: unknown }
  | { readonly ipc: 'err'; readonly id: number; readonly code: string; readonly message: string }
  | { readonly ipc: 'pub'; readonly channel: string; readonly pub: StreamPublication; readonly epoch: string }
  | { readonly ipc: 'join' | 'leave'; readonly channel: string; readonly info: ClientInfo }
  /** A publication relayed for a subscribed prefix (`Broker.onPrefixPublication`). */
  | { readonly ipc: 'ppub'; readonly channel: string; readonly pub: StreamPublication; readonly epoch: string }
  /** Prefix deliveries were not relayed (the worker fell behind): pattern subscribers resync. */
  | { readonly ipc: 'pgap' }
  /** Publications of these channels were not relayed (the worker fell behind): check positions. */
  | { readonly ipc: 'gap'; readonly channels: readonly string[] };

const kinds: ReadonlySet<unknown> = new Set(['req', 'res', 'err', 'pub', 'join', 'leave', 'gap', 'ppub', 'pgap']);

/** True for a message of the IPC engine protocol, so a shared channel can route other messages elsewhere. */
export function isIpcMessage(value: unknown): value is IpcMessage {
  return typeof value === 'object' && value !== null && kinds.has((value as { ipc?: unknown }).ipc);
}

const codes: ReadonlySet<string> = new Set(Object.values(TidingsErrorCode));

/** The error reply for a failed operation: a `TidingsError` keeps its code, anything else is internal. */
export function errorReply(id: number, error: unknown): IpcMessage {
  if (isTidingsError(error)) return { ipc: 'err', id, code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { ipc: 'err', id, code: TidingsErrorCode.Unavailable, message: `primary engine failed: ${message}` };
}

/** Rebuilds the `TidingsError` of an error reply (class instances do not survive a structured clone). */
export function errorOf(code: string, message: string): TidingsError {
  const known = codes.has(code) ? (code as TidingsErrorCode) : TidingsErrorCode.Unavailable;
  return new TidingsError(known, message);
}

/** One `publishMany` outcome as it crosses the channel: errors as code and message. */
export type IpcPublishOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** The wire form of a `publishMany` outcome (class instances do not survive a structured clone). */
export function outcomeReply(
  outcome: { ok: true; result: unknown } | { ok: false; error: unknown },
): IpcPublishOutcome {
  if (outcome.ok) return outcome;
  const reply = errorReply(0, outcome.error) as { code: string; message: string };
  return { ok: false, code: reply.code, message: reply.message };
}
