export { isOriginAllowed } from '../origin.js';
export {
  createWebSocketEdge,
  PROTOBUF_SUBPROTOCOL,
  type WebSocketEdge,
  type WebSocketEdgeOptions,
} from './websocket-edge.js';
export { WebSocketTransport } from './websocket-transport.js';
