export { ApiCallError, createApiService } from './api-service.js';
export {
  BackendStreamError,
  type BackendStreamLogin,
  backendStream,
  backendStreamUser,
  createBackendStreamLogin,
  maxStreamChannels,
  type StreamNode,
} from './backend-stream.js';
export {
  apiKeyOf,
  type ConnectHandlerOptions,
  type ConnectRequestHandler,
  createConnectHandler,
} from './connect-handler.js';
export * from './gen/tidings/api/v1/api_pb.js';
export { reflectionRoutes } from './reflection.js';
