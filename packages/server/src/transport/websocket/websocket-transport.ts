import type { Codec, Disconnect } from '@tidings/protocol';
import type { WebSocket } from 'ws';
import type { EncodedPush, SharedFrameBuilder } from '../../core/encoded-push.js';
import type { Transport, WriteResumer } from '../types.js';
import { deflateFrameBuilder, plainFrameBuilder } from './ws-frame.js';

const textOptions = Object.freeze({ binary: false });
const binaryOptions = Object.freeze({ binary: true });

/**
 * The parts of ws 8's WebSocket and Sender (lib/websocket.js, lib/sender.js) the fast path reads.
 * Not public API: `ws` is pinned, and websocket-fast-path.test.ts fails if these names move.
 */
interface WsInternals {
  readonly _socket: {
    write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
    readonly writableLength: number;
  } | null;
  readonly _sender: { readonly _state: number; readonly _queue: readonly unknown[] } | null;
  readonly _extensions: Record<string, unknown>;
}

/** ws Sender's idle state (DEFAULT in lib/sender.js): not deflating, not reading a Blob. */
const senderIdle = 0;

/** Written behind a pending write only for its callback: it runs once everything before it left. */
const empty = new Uint8Array(0);

/** A session's view of one `ws` connection. Moves frames only. */
export class WebSocketTransport implements Transport {
  // One of these per connection: constants are prototype getters and everything derivable is
  // derived, so an instance holds just its three fields.
  readonly codec: Codec;
  readonly #ws: WebSocket;
  // Extensions are fixed at the handshake, so the shared frame kind is decided once per
  // connection: plain, deflated (shareable deflate parameters), or none (always ws.send).
  readonly #builder: SharedFrameBuilder | undefined;

  constructor(ws: WebSocket, codec: Codec) {
    this.#ws = ws;
    this.codec = codec;
    this.#builder = sharedBuilderOf(ws as unknown as WsInternals);
  }

  get name(): string {
    return 'websocket';
  }

  get unidirectional(): boolean {
    return false;
  }

  get bufferedBytes(): number {
    // Covers direct writes too: ws counts the socket's writable length plus its own queue.
    return this.#ws.bufferedAmount;
  }

  write(frame: Uint8Array): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(frame, this.codec.binary ? binaryOptions : textOptions);
  }

  /**
   * One shared push as one prebuilt frame (header + payload built once per publication and
   * codec), written straight to the socket instead of through `ws.send`, which would allocate
   * options, a header and a Buffer view and issue two writes per subscriber.
   *
   * Writing under ws is order-safe only when ws's Sender holds nothing: with permessage-deflate a
   * message may still be compressing (Sender state DEFLATING) with later sends queued behind it,
   * and a frame written past them would reach the peer first. So the direct path is taken only
   * while the Sender is idle with an empty queue; otherwise the unit goes through `ws.send` like
   * any other write. With permessage-deflate the shared frame is compressed once per
   * publication (see `deflateFrameBuilder`), which is only correct without server context
   * takeover: with takeover, ws's own deflater would later refer to a window the peer's
   * inflater no longer shares.
   */
  writeShared(encoded: EncodedPush): void {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return;
    const internals = ws as unknown as WsInternals;
    const sender = internals._sender;
    const socket = internals._socket;
    const builder = this.#builder;
    if (
      builder !== undefined &&
      socket !== null &&
      sender !== null &&
      sender._state === senderIdle &&
      sender._queue.length === 0
    ) {
      socket.write(encoded.frameFor(this.codec, builder));
    } else {
      ws.send(encoded.unitFor(this.codec), this.codec.binary ? binaryOptions : textOptions);
    }
  }

  /**
   * True while the socket still holds bytes of an earlier frame in the process (the kernel's
   * buffer was full): `resumer.resume()` then runs once they are handed to the kernel. An empty
   * write's callback marks that point, since a socket completes writes in order; its closure is
   * made only under backpressure, never on an idle or keeping-up connection.
   */
  holdWhileWriting(resumer: WriteResumer): boolean {
    const socket = (this.#ws as unknown as WsInternals)._socket;
    if (socket === null || socket.writableLength === 0 || this.#ws.readyState !== this.#ws.OPEN) return false;
    socket.write(empty, () => resumer.resume());
    return true;
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

/**
 * The shared frame kind a connection can take, or undefined when this ws build does not expose
 * what the direct path needs or the negotiated extensions rule shared frames out.
 */
function sharedBuilderOf(internals: WsInternals): SharedFrameBuilder | undefined {
  const sender = internals._sender;
  const usable =
    internals._socket !== null &&
    typeof internals._socket?.write === 'function' &&
    sender !== null &&
    typeof sender?._state === 'number' &&
    Array.isArray(sender._queue) &&
    typeof internals._extensions === 'object';
  if (!usable) return undefined;
  const names = Object.keys(internals._extensions);
  if (names.length === 0) return plainFrameBuilder;
  if (names.length !== 1 || names[0] !== 'permessage-deflate') return undefined;
  const params = (internals._extensions['permessage-deflate'] as { params?: DeflateParams } | undefined)?.params;
  if (params?.server_no_context_takeover !== true) return undefined;
  const bits = params.server_max_window_bits;
  // The client may cap the server's window; a frame deflated with 15 bits needs the full window.
  return bits === undefined || bits === true || bits === 15 ? deflateFrameBuilder : undefined;
}

/** The negotiated permessage-deflate parameters as ws keeps them (lib/permessage-deflate.js). */
interface DeflateParams {
  readonly server_no_context_takeover?: boolean;
  readonly server_max_window_bits?: number | true;
}
