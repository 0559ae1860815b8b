import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, TidingsNode } from '@tidings/server';
import {
  apiPrefix,
  dashboardPaths,
  docsPath,
  type HealthBody,
  healthPath,
  openApiPath,
  readyPath,
} from './openapi/index.js';

/** Handles `/api/*`; resolves true when it answered the request. */
export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** What the plain HTTP routes need. */
export interface RoutesOptions {
  readonly node: TidingsNode;
  /** Undefined when no API keys are configured: `/api/*` then answers 401. */
  readonly api: ApiHandler | undefined;
  /** Stream endpoints (SSE, NDJSON, SDK emulation): each serves its own paths and returns true, else false. */
  readonly streams?: ReadonlyArray<(req: IncomingMessage, res: ServerResponse) => boolean>;
  /** The dashboard page, or undefined when it is not installed. */
  readonly dashboardHtml: string | undefined;
  readonly logger: Logger;
  /** Engine type ("memory", "redis", "nats") reported by /healthz and /readyz. */
  readonly engine?: string;
  /** The admin console at `/admin` (page and `/admin/api/*`); resolves true when it answered. */
  readonly admin?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** `GET /metrics` when metrics are served on the main port; resolves true when it answered. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** `GET /api/openapi.json` (the document as JSON text) and `GET /api/docs` (its HTML page), served without an API key. */
  readonly openApi?: { readonly json: string; readonly html: string };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code: status, message } }, headers);
}

function sendOpenApi(res: ServerResponse, type: 'json' | 'html', text: string): void {
  res.writeHead(200, {
    'content-type': type === 'json' ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
    ...(type === 'html'
      ? {
          'x-frame-options': 'DENY',
          'referrer-policy': 'no-referrer',
          'content-security-policy':
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        }
      : {}),
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendDashboard(res: ServerResponse, html: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    // The development page embeds a token: never cache it, never frame it.
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy':
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
  res.end(res.req.method === 'HEAD' ? undefined : html);
}

/**
 * The request listener of `tidings serve`: `/healthz` (liveness: 200 while the process runs),
 * `/readyz` (200 when the node is ready, else 503), `/api/*`, the one-way streams (SSE, NDJSON),
 * `/api/openapi.json` and `/api/docs` (no key needed), the dashboard at `/`, and a JSON 404 for
 * everything else (openapi/routes.ts lists them all). Never throws: an unexpected error answers 500 and is logged.
 */
export function createRoutes(options: RoutesOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { node, api, dashboardHtml, logger } = options;
  const streams = options.streams ?? [];

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const readOnly = req.method === 'GET' || req.method === 'HEAD';

    if (path === healthPath || path === readyPath) {
      if (!readOnly) return sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      const ready = node.ready();
      const state: Omit<HealthBody, 'status'> = {
        version: node.version,
        node: node.name,
        engine: { type: options.engine ?? 'unknown', ready },
        nodes: node.nodes().length,
      };
      if (path === healthPath) return sendJson(res, 200, { status: 'ok', ...state } satisfies HealthBody);
      return ready
        ? sendJson(res, 200, { status: 'ready', ...state })
        : sendJson(res, 503, { status: 'unavailable', ...state }, { 'retry-after': '1' });
    }
    if (options.metrics !== undefined && (await options.metrics(req, res))) return;
    if (options.openApi !== undefined && (path === openApiPath || path === docsPath)) {
      if (!readOnly) return sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      return path === openApiPath
        ? sendOpenApi(res, 'json', options.openApi.json)
        : sendOpenApi(res, 'html', options.openApi.html);
    }
    if (options.admin !== undefined && (await options.admin(req, res))) return;
    if (path === apiPrefix || path.startsWith(`${apiPrefix}/`)) {
      if (api === undefined) return sendError(res, 401, 'the server API is disabled: configure api.keys');
      if (await api(req, res)) return;
      return sendError(res, 404, 'unknown API method');
    }
    for (const stream of streams) if (stream(req, res)) return;
    if ((dashboardPaths as readonly string[]).includes(path)) {
      if (!readOnly) return sendError(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      if (dashboardHtml === undefined) return sendError(res, 404, 'the dashboard is not installed');
      return sendDashboard(res, dashboardHtml);
    }
    sendError(res, 404, 'not found');
  };

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error, method: req.method, path: req.url?.split('?')[0] }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'internal server error');
      else res.destroy();
    });
  };
}
