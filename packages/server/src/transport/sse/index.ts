export { createSseFramer } from './sse-framer.js';
export { createSseHandler, type SseHandlerOptions } from './sse-handler.js';
