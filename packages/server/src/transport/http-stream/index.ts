export { createHttpStreamHandler, type HttpStreamHandlerOptions } from './http-stream-handler.js';
export { createNdjsonFramer } from './ndjson-framer.js';
