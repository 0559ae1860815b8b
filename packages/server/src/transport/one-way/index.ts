export { type Chunk, type EventFramer, joinChunks, type OneWayEventType } from './event-framer.js';
export { decodeOneWayRecords, type OneWayRecord, oneWayCodec } from './one-way-codec.js';
export { createOneWayHandler, type OneWayHandler, type OneWayHandlerOptions } from './one-way-handler.js';
export { defaultTokenCookie, type OneWayRequest, OneWayRequestError, parseOneWayRequest } from './one-way-request.js';
export {
  OneWayClosedError,
  type OneWaySessionPort,
  OneWayTransport,
  type OneWayTransportOptions,
} from './one-way-transport.js';
export { createStreamOutput, negotiateEncoding, type StreamEncoding, type StreamOutput } from './stream-output.js';
