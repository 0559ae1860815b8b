export { createTidingsHandlers, type TidingsHandlers, type TidingsHandlersOptions } from './tidings-handlers.js';
