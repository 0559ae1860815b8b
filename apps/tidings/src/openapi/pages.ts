import { renderOpenApiHtml } from '@tidings/server';
import type { TidingsConfig } from '../config/schema.js';
import { packageVersion } from '../version.js';
import { openApiPath } from './routes.js';
import { serveDocument } from './serve-document.js';

/** `/api/openapi.json` and `/api/docs` of this configuration, rendered once at start-up. */
export function openApiPages(config: TidingsConfig): { readonly json: string; readonly html: string } {
  const doc = serveDocument(config, packageVersion());
  return { json: JSON.stringify(doc), html: renderOpenApiHtml(doc, openApiPath) };
}
