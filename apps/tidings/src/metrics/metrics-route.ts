import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiMethods } from '@tidings/server';
import type { PrometheusMetrics } from './prometheus.js';

/** The path Prometheus scrapes. */
export const metricsPath = '/metrics';

const contentType = 'text/plain; version=0.0.4; charset=utf-8';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function reject(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: status, message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * Serves `GET /metrics` (Prometheus text format). With a token, the request must carry
 * `Authorization: Bearer <token>` (compared in constant time) or it gets 401; other methods get
 * 405. Resolves true when the request was for `/metrics`.
 */
export function createMetricsHandler(
  metrics: Pick<PrometheusMetrics, 'scrape'>,
  token: string | undefined,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const expected = token === undefined ? undefined : digest(token);
  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== metricsPath) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reject(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      return true;
    }
    if (expected !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), expected)) {
        reject(res, 401, 'metrics need Authorization: Bearer <metrics.token>', { 'www-authenticate': 'Bearer' });
        return true;
      }
    }
    const text = await metrics.scrape();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}

const knownMethods: ReadonlySet<string> = new Set(apiMethods);

/**
 * The method label of a server API request: the last path segment when it names an API method,
 * else "other" (so a scanner probing random paths cannot grow the label set).
 */
export function apiMethodLabel(url: string | undefined): string {
  const path = (url ?? '').split('?')[0] ?? '';
  const name = path.slice(path.lastIndexOf('/') + 1);
  return knownMethods.has(name) ? name : 'other';
}

/** Wraps an `/api/*` handler so each request it answers is counted by method and status. */
export function countApiRequests<H extends (req: IncomingMessage, res: ServerResponse) => Promise<boolean>>(
  handler: H,
  metrics: Pick<PrometheusMetrics, 'apiRequest'>,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const method = apiMethodLabel(req.url);
    res.once('finish', () => metrics.apiRequest(method, res.statusCode));
    return handler(req, res);
  };
}
