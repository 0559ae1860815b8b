import type { Command, Push, Reply } from './messages.js';

/** Names of the wire encodings a session can speak. */
export type CodecName = 'json' | 'protobuf' | 'msgpack';

/**
 * Encodes and decodes Centrifuge protocol messages for one wire format.
 *
 * Contract:
 * - `decodeCommands` takes one transport message (a WebSocket message) holding a batch of
 *   commands and returns them in order. Malformed input throws a `TidingsError` with code
 *   `TIDINGS_ERR_BAD_FRAME` (the session turns it into a 3501 bad-request disconnect).
 * - `encodeReply` / `encodePush` return one *unit*: a self-contained encoded message. Units are
 *   joined into one transport message with `join` (JSON: newline-separated; Protobuf: each unit
 *   already carries its varint length prefix, and MessagePack values delimit themselves, so `join`
 *   concatenates).
 * - Encoding is pure and deterministic, so a publication encoded once can be queued to any
 *   number of sessions that use the same codec.
 */
export interface Codec {
  readonly name: CodecName;
  /** True when units are binary (WebSocket binary frames), false for text. */
  readonly binary: boolean;
  decodeCommands(frame: Uint8Array): Command[];
  encodeReply(reply: Reply): Uint8Array;
  /** Same as `encodeReply({ push })`, the fan-out path. */
  encodePush(push: Push): Uint8Array;
  /** Join encoded units into one transport message. */
  join(units: readonly Uint8Array[]): Uint8Array;
}

/**
 * The client side of a codec, the reverse direction of `Codec`: what an SDK (ours, or a test
 * client) needs. `encodeCommands` returns one transport message holding the batch;
 * `decodeReplies` splits one transport message into replies (malformed input throws a
 * `TidingsError` BadFrame).
 */
export interface ClientCodec {
  readonly name: CodecName;
  readonly binary: boolean;
  encodeCommands(commands: readonly Command[]): Uint8Array;
  decodeReplies(frame: Uint8Array): Reply[];
}
