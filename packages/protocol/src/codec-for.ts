import type { ClientCodec, Codec, CodecName } from './codec.js';
import { TidingsError, TidingsErrorCode } from './errors.js';
import { jsonCodec } from './json-codec.js';
import { msgpackCodec } from './msgpack-codec.js';
import { protobufCodec } from './protobuf-codec.js';

/** WebSocket subprotocol that selects the Protobuf codec (no subprotocol means JSON). */
export const protobufSubprotocol = 'centrifuge-protobuf';

/** WebSocket subprotocol that selects the MessagePack codec (Tidings' own, not a Centrifuge one). */
export const msgpackSubprotocol = 'tidings-msgpack';

/** The codec of a name. Throws `TidingsError` Config for an unknown name. */
export function codecFor(name: CodecName): Codec & ClientCodec {
  if (name === 'json') return jsonCodec;
  if (name === 'protobuf') return protobufCodec;
  if (name === 'msgpack') return msgpackCodec;
  throw new TidingsError(TidingsErrorCode.Config, `unknown codec ${JSON.stringify(name)} (json, protobuf or msgpack)`);
}
