import type { Codec, Disconnect } from '@tidings/protocol';
import type { WebSocket } from 'ws';
import type { EncodedPush } from '../../core/encoded-push.js';
import type { Transport } from '../types.js';
import { plainFrameBuilder } from './ws-frame.js';

const textOptions = Object.freeze({ binary: false });
const binaryOptions = Object.freeze({ binary: true });

/**
 * The parts of ws 8's WebSocket and Sender (lib/websocket.js, lib/sender.js) the fast path reads.
 * Not public API: `ws` is pinned, and websocket-fast-path.test.ts fails if these names move.
 */
interface WsInternals {
  readonly _socket: { write(chunk: Uint8Array): boolean } | null;
  readonly _sender: { readonly _state: number; readonly _queue: readonly unknown[] } | null;
  readonly _extensions: Record<string, unknown>;
}

/** ws Sender's idle state (DEFAULT in lib/sender.js): not deflating, not reading a Blob. */
const senderIdle = 0;

/** A session's view of one `ws` connection. Moves frames only. */
export class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  readonly unidirectional = false;
  readonly codec: Codec;
  readonly #ws: WebSocket;
  readonly #internals: WsInternals;
  readonly #sendOptions: { binary: boolean };
  // Extensions are fixed at the handshake, so this is decided once per connection.
  readonly #direct: boolean;

  constructor(ws: WebSocket, codec: Codec) {
    this.#ws = ws;
    this.codec = codec;
    this.#sendOptions = codec.binary ? binaryOptions : textOptions;
    this.#internals = ws as unknown as WsInternals;
    this.#direct = isDirectCapable(this.#internals);
  }

  get bufferedBytes(): number {
    // Covers direct writes too: ws counts the socket's writable length plus its own queue.
    return this.#ws.bufferedAmount;
  }

  write(frame: Uint8Array): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(frame, this.#sendOptions);
  }

  /**
   * One shared push as one prebuilt frame (header + payload built once per publication and
   * codec), written straight to the socket instead of through `ws.send`, which would allocate
   * options, a header and a Buffer view and issue two writes per subscriber.
   *
   * Writing under ws is order-safe only when ws's Sender holds nothing: with permessage-deflate a
   * message may still be compressing (Sender state DEFLATING) with later sends queued behind it,
   * and a frame written past them would reach the peer first. So the direct path is taken only
   * on connections without permessage-deflate whose Sender is idle with an empty queue;
   * otherwise the unit goes through `ws.send` like any other write.
   */
  writeShared(encoded: EncodedPush): void {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return;
    const internals = this.#internals;
    const sender = internals._sender;
    const socket = internals._socket;
    if (
      this.#direct &&
      socket !== null &&
      sender !== null &&
      sender._state === senderIdle &&
      sender._queue.length === 0
    ) {
      socket.write(encoded.frameFor(this.codec, plainFrameBuilder));
    } else {
      ws.send(encoded.unitFor(this.codec), this.#sendOptions);
    }
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

/** True when this ws build exposes what the direct path needs and no extension was negotiated. */
function isDirectCapable(internals: WsInternals): boolean {
  const sender = internals._sender;
  return (
    internals._socket !== null &&
    typeof internals._socket?.write === 'function' &&
    sender !== null &&
    typeof sender?._state === 'number' &&
    Array.isArray(sender._queue) &&
    typeof internals._extensions === 'object' &&
    Object.keys(internals._extensions).length === 0
  );
}
