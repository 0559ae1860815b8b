export { ApiCallError, createApiService } from './api-service.js';
export {
  apiKeyOf,
  type ConnectHandlerOptions,
  type ConnectRequestHandler,
  createConnectHandler,
} from './connect-handler.js';
export * from './gen/tidings/api/v1/api_pb.js';
