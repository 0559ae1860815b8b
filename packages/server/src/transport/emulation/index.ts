export {
  createEmulationEdge,
  type EmulationEdgeOptions,
  type EmulationHandler,
  sseConnectParam,
} from './emulation-edge.js';
export { type EmulationRequest, EmulationRequestError, parseEmulationRequest } from './emulation-request.js';
export {
  type EmulationKind,
  type EmulationSessionPort,
  EmulationTransport,
  type EmulationTransportOptions,
} from './emulation-transport.js';
