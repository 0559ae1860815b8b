export { ApiCallError, createApiService } from './api-service.js';
export * from './gen/tidings/api/v1/api_pb.js';
