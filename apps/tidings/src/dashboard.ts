import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the dashboard page lives: apps/dashboard/index.html, from apps/tidings/{src,dist}/. */
export const dashboardFile = fileURLToPath(new URL('../../dashboard/index.html', import.meta.url));

/** What the page learns from the server that serves it. */
export interface DashboardBootstrap {
  /** Path of the WebSocket endpoint on this server. */
  readonly websocketPath: string;
  /** A ready connection token (development profile only). */
  readonly token?: string;
  /** Channel to open first. */
  readonly channel?: string;
  /** "development" or "file": the page explains what it can do in each. */
  readonly profile: 'development' | 'file';
}

// The page holds `<script id="tidings-bootstrap" type="application/json">{}</script>`; the
// server fills in the JSON at start. `<` is escaped so the data cannot close the script element.
const placeholder = /(<script id="tidings-bootstrap" type="application\/json">)[^<]*(<\/script>)/;

/**
 * The dashboard HTML with `bootstrap` injected, read once at start.
 * @returns undefined when the page is not installed (the server then answers 404 on `/`).
 */
export function renderDashboard(bootstrap: DashboardBootstrap, file: string = dashboardFile): string | undefined {
  let html: string;
  try {
    html = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const json = JSON.stringify(bootstrap).replaceAll('<', '\\u003c');
  return html.replace(placeholder, (_, open: string, close: string) => `${open}${json}${close}`);
}
