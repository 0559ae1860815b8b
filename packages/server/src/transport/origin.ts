import type { IncomingMessage } from 'node:http';

/**
 * Origin allow-list for browser connections.
 *
 * A request without an Origin header is not from a browser and is allowed (browsers always
 * send it on WebSocket upgrades). A browser request is allowed when its origin equals the
 * request's own host (same origin) or matches an entry of `allowed`: an exact origin
 * (`https://app.example.com`), a wildcard host (`https://*.example.com`) or `*` (any).
 * An Origin that is not a canonical `scheme://host[:port]` (the opaque `null` of sandboxed
 * frames and `file:` pages, a path, userinfo, a `*` or any character no hostname has) is refused
 * whatever the list says, so no pattern can be matched by a string a browser would never send.
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const normalized = canonicalOrigin(origin);
  if (normalized === undefined) return false;
  for (const pattern of allowed) {
    if (pattern === '*') return true;
    if (matches(normalized, pattern.toLowerCase())) return true;
  }
  const host = req.headers.host?.toLowerCase();
  return host !== undefined && new URL(normalized).host === host;
}

// Hostnames as browsers serialize them: LDH labels (IDNs arrive as punycode), or an IPv6 literal.
const hostPattern = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])$/;

/** The lowercased origin when it is a canonical http(s) origin, else undefined. */
function canonicalOrigin(origin: string): string | undefined {
  const lower = origin.toLowerCase();
  let url: URL;
  try {
    url = new URL(lower);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.origin !== lower || !hostPattern.test(url.hostname)) return undefined;
  return lower;
}

function matches(origin: string, pattern: string): boolean {
  if (!pattern.includes('*')) return origin === pattern;
  const [scheme, rest] = pattern.split('://', 2);
  if (rest === undefined || !rest.startsWith('*.')) return false;
  const suffix = rest.slice(1);
  return (
    origin.startsWith(`${scheme}://`) && origin.endsWith(suffix) && origin.length > scheme!.length + 3 + suffix.length
  );
}

/** Request headers a cross-origin browser may send to the one-way endpoints. */
const allowedRequestHeaders = 'Authorization, Last-Event-ID, If-None-Match, Cache-Control';
/** Response headers a cross-origin script may read (CORS safelists only a few). */
const exposedHeaders = 'ETag, Retry-After, X-Tidings-Poll-After-Ms';

/**
 * CORS response headers for a browser request to a one-way endpoint (SSE, NDJSON, poll).
 *
 * Contract: returns `undefined` when the request's Origin is not allowed (the caller answers
 * 403); an empty object when no CORS header is needed (no Origin, or the server's own origin);
 * otherwise `Access-Control-Allow-Origin` echoing the origin (never `*`, so cookies can be
 * sent: `Access-Control-Allow-Credentials: true`), the readable headers, and `Vary: Origin`.
 * With `preflight`, also the allowed method and request headers for an `OPTIONS` answer.
 */
export function corsHeaders(
  req: IncomingMessage,
  allowed: readonly string[],
  preflight = false,
): Record<string, string> | undefined {
  if (!isOriginAllowed(req, allowed)) return undefined;
  const origin = req.headers.origin;
  if (origin === undefined || sameOrigin(req, origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': exposedHeaders,
    vary: 'Origin',
    ...(preflight
      ? {
          'access-control-allow-methods': 'GET, OPTIONS',
          'access-control-allow-headers': allowedRequestHeaders,
          'access-control-max-age': '600',
        }
      : {}),
  };
}

function sameOrigin(req: IncomingMessage, origin: string): boolean {
  try {
    return new URL(origin.toLowerCase()).host === req.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}
