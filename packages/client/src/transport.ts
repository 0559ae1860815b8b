import type { ClientCodec } from '@tidings/protocol';

/** Callbacks a transport reports to. The client guards each with its connection generation. */
export interface TransportHandlers {
  /** The transport can take frames (the first one the client sends is the connect command). */
  onOpen(): void;
  onMessage(frame: Uint8Array): void;
  /** The transport ended; `code` is the WebSocket close code (or 0 when unknown). */
  onClose(code: number, reason: string): void;
}

/** One open (or opening) bidirectional connection. Moves frames only; no protocol logic. */
export interface Transport {
  readonly name: string;
  send(frame: Uint8Array): void;
  close(): void;
}

/**
 * Opens transports of one kind. A factory with a `codec` is spoken with that codec (SSE, the
 * fetch stream and polling are JSON; WebSocket is what it was given); otherwise the client's.
 */
export interface TransportFactory {
  readonly name: string;
  readonly codec?: ClientCodec;
  open(handlers: TransportHandlers): Transport;
}
