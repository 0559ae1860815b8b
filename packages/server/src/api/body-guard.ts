import { maxJsonDepth } from '@tidings/protocol';

/** Deepest nesting of arrays and objects accepted in an API body: the WebSocket path's cap. */
export const maxApiJsonDepth = maxJsonDepth;

/**
 * True when a `Content-Type` header names JSON: `application/json` or any `application/*+json`,
 * with or without parameters (`; charset=utf-8`), case-insensitive.
 *
 * The API refuses every other type, and a missing one on a non-empty body, because a browser
 * sends `text/plain`, `application/x-www-form-urlencoded` and `multipart/form-data` bodies
 * cross-origin without a CORS preflight.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = (header.split(';', 1)[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * True when JSON text nests arrays/objects deeper than `max`. Scans the text once with a counter
 * (brackets inside strings are skipped, escapes honoured), so it runs before `JSON.parse` and
 * before anything walks the value recursively: a body nested thousands deep is refused with 400
 * instead of overflowing the stack further on. Invalid JSON is left to `JSON.parse` to report.
 */
export function jsonNestingExceeds(text: string, max: number = maxApiJsonDepth): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
