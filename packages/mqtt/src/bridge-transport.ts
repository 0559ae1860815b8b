import { type Codec, type Disconnect, type Push, protobufCodec, type Reply } from '@tidings/protocol';
import type { EncodedPush, Transport } from '@tidings/server';

/** What the bridge transport hands its MQTT connection. */
export interface BridgeSink {
  /** A reply to a command the connection sent (it has an id), or the session's ping. */
  onReply(reply: Reply): void;
  /** A push; `shared` is the publication's EncodedPush on the fan-out path (one per publication). */
  onPush(push: Push, shared: EncodedPush | undefined): void;
  /** The session closed with `disconnect`. */
  onSessionClose(disconnect: Disconnect): void;
  /** Bytes waiting on the MQTT socket. */
  readonly socketBufferedBytes: number;
}

/**
 * The Transport between a Tidings Session and an MQTT connection: the session speaks the
 * Centrifuge protocol (Protobuf codec, so payload bytes pass through unchanged) and this moves
 * its messages to the MQTT side as objects. Shared publication pushes skip decoding altogether
 * (`writeShared`), so the fan-out path never decodes per subscriber.
 */
export class BridgeTransport implements Transport {
  readonly name = 'mqtt';
  readonly codec: Codec = protobufCodec;
  readonly unidirectional = false;
  readonly #sink: BridgeSink;
  #closed = false;

  constructor(sink: BridgeSink) {
    this.#sink = sink;
  }

  get bufferedBytes(): number {
    return this.#sink.socketBufferedBytes;
  }

  write(frame: Uint8Array): void {
    if (this.#closed) return;
    for (const reply of protobufCodec.decodeReplies(frame)) {
      if (reply.push !== undefined) this.#sink.onPush(reply.push, undefined);
      else this.#sink.onReply(reply);
    }
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  writeShared(encoded: EncodedPush): void {
    if (!this.#closed) this.#sink.onPush(encoded.push, encoded);
  }

  writeSharedMany(batch: readonly EncodedPush[]): void {
    for (const encoded of batch) this.writeShared(encoded);
  }

  close(disconnect: Disconnect): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink.onSessionClose(disconnect);
  }
}
