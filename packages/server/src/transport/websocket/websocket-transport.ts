import type { Codec, Disconnect } from '@tidings/protocol';
import type { WebSocket } from 'ws';
import type { Transport } from '../types.js';

const textOptions = Object.freeze({ binary: false });
const binaryOptions = Object.freeze({ binary: true });

/** A session's view of one `ws` connection. Moves frames only. */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly unidirectional = false;
  readonly codec: Codec;
  readonly #ws: WebSocket;
  readonly #sendOptions: { binary: boolean };

  constructor(ws: WebSocket, codec: Codec) {
    this.#ws = ws;
    this.codec = codec;
    this.#sendOptions = codec.binary ? binaryOptions : textOptions;
  }

  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  write(frame: Uint8Array): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(frame, this.#sendOptions);
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  close(disconnect: Disconnect): void {
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      this.#ws.close(disconnect.code, disconnect.reason);
    }
  }
}
