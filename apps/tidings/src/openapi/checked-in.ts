import { loadConfig } from '../config/load.js';
import { packageVersion } from '../version.js';
import { serveDocument } from './serve-document.js';

/**
 * The text of docs/openapi.json: the document of the default configuration with metrics on
 * (so `/metrics` is in it), pretty-printed. Checked in so clients can be generated without a
 * running server and so every change of the HTTP API shows in review; a test keeps it fresh.
 */
export function renderCheckedInDocument(): string {
  const config = loadConfig({ base: { metrics: { enabled: true } } });
  return `${JSON.stringify(serveDocument(config, packageVersion()), null, 2)}\n`;
}
