export { serverApiPaths } from './api-paths.js';
export { createOpenApiDocument, type OpenApiDocumentOptions } from './openapi-document.js';
export { renderOpenApiHtml } from './openapi-html.js';
export {
  type JsonSchema,
  jsonResponse,
  jsonSchemaOf,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiPathItem,
  type OpenApiPaths,
  ref,
  streamResponse,
} from './openapi-types.js';
export { type StreamPathsOptions, streamPaths } from './stream-paths.js';
