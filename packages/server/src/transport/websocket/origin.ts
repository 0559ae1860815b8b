import type { IncomingMessage } from 'node:http';

/**
 * Origin allow-list for browser connections.
 *
 * A request without an Origin header is not from a browser and is allowed (browsers always
 * send it on WebSocket upgrades). A browser request is allowed when its origin equals the
 * request's own host (same origin) or matches an entry of `allowed`: an exact origin
 * (`https://app.example.com`), a wildcard host (`https://*.example.com`) or `*` (any).
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const normalized = origin.toLowerCase();
  for (const pattern of allowed) {
    if (pattern === '*') return true;
    if (matches(normalized, pattern.toLowerCase())) return true;
  }
  try {
    const host = req.headers.host?.toLowerCase();
    return host !== undefined && new URL(normalized).host === host;
  } catch {
    return false;
  }
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
