/**
 * @tidings/protocol: the Centrifuge client protocol v2 as plain TypeScript objects, its wire codes,
 * the JSON, Protobuf and MessagePack codecs, and stream positions as text. ECMAScript + TextEncoder/TextDecoder
 * only, so it runs in Node, browsers and React Native.
 */
export type { ClientCodec, Codec, CodecName } from './codec.js';
export { codecFor, msgpackSubprotocol, protobufSubprotocol } from './codec-for.js';
export {
  type Disconnect,
  DisconnectCode,
  disconnectOf,
  disconnectReasons,
  ErrorCode,
  errorMessages,
  shouldReconnect,
  UnsubscribeCode,
  unsubscribeReasons,
} from './codes.js';
export {
  clientError,
  isTidingsError,
  TidingsError,
  TidingsErrorCode,
  type TidingsErrorOptions,
} from './errors.js';
export { decodeJsonCommand, jsonCodec } from './json-codec.js';
export { isValidJson, maxJsonDepth } from './json-scan.js';
export type * from './messages.js';
export { msgpackCodec } from './msgpack-codec.js';
export {
  decodeCursor,
  encodeCursor,
  formatPosition,
  fromBase64Url,
  maxCursorLength,
  maxEpochLength,
  parsePosition,
  toBase64Url,
} from './position.js';
export { protobufCodec } from './protobuf-codec.js';
export { allocateBytes } from './slab.js';
export { writeVarint } from './varint.js';
