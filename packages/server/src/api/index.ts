export type { ApiErrorBody, FailureKind } from './api-errors.js';
export { type ApiHandlerOptions, type ApiRequestHandler, createApiHandler } from './api-handler.js';
export type { ApiNode } from './api-methods.js';
export { type CallContext, callMethod, type MethodOutcome } from './api-methods.js';
export {
  batchResponseSchema,
  errorBodySchema,
  historyExportLineSchema,
  infoResultSchema,
  methodResultSchemas,
  wireErrorSchema,
} from './api-responses.js';
export {
  type ApiMethod,
  type ApiRequest,
  apiMethods,
  batchCommandSchema,
  describeIssues,
  historyStreamQuerySchema,
  maxBatchCommands,
  methodSchemas,
} from './api-schemas.js';
export { exportHistory, type HistoryExportOptions } from './history-export.js';
export { type StateEndpointOptions, serveState, stateEtag } from './state-endpoint.js';
export { interfaceVersions, versionsOut } from './versions.js';
