/** Callbacks a transport reports to. The client guards each with its connection generation. */
export interface TransportHandlers {
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

/** Opens transports of one kind. */
export interface TransportFactory {
  readonly name: string;
  open(handlers: TransportHandlers): Transport;
}
