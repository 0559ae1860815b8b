import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { ApiErrorBody } from './api-errors.js';
import { type JsonOut, stringifyJson } from './json-output.js';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks API keys in constant time: every configured key is compared (as SHA-256 digests, so
 * lengths never differ) whatever matches, so timing reveals neither a key nor which one matched.
 */
export class ApiKeyChecker {
  readonly #digests: readonly Buffer[];

  /**
   * An empty list denies every request (the API answers 401 until a key is configured).
   * @throws TidingsError `TIDINGS_ERR_CONFIG` (path `api.apiKeys[i]`) for a blank key.
   */
  constructor(keys: readonly string[]) {
    if (!Array.isArray(keys)) throw new TidingsError(TidingsErrorCode.Config, 'api.apiKeys: expected a list of keys');
    this.#digests = keys.map((key, i) => {
      if (typeof key !== 'string' || key.trim() === '') {
        throw new TidingsError(TidingsErrorCode.Config, `api.apiKeys[${i}]: must be a non-empty string`);
      }
      return digest(key);
    });
  }

  /** The key from `X-API-Key: K`, else from `Authorization: apikey K`. */
  static presented(req: IncomingMessage): string | undefined {
    const header = req.headers['x-api-key'];
    if (typeof header === 'string' && header !== '') return header.trim();
    const match = /^apikey\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match?.[1];
  }

  allows(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let found = false;
    for (const d of this.#digests) found = timingSafeEqual(candidate, d) || found;
    return found;
  }
}

/** Outcome of reading a request body with a size limit. */
export type BodyRead = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly tooLarge: true };

/** Reads the body as UTF-8, stopping as soon as it exceeds `maxBytes` (checked on Content-Length first). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return { ok: false, tooLarge: true };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) return { ok: false, tooLarge: true };
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks, size).toString('utf8') };
}

/** Writes a JSON response; `extra` adds headers such as Retry-After or Allow. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: JsonOut,
  extra: Readonly<Record<string, string>> = {},
): void {
  const text = stringifyJson(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(text);
}

/** Writes `{ "error": { code, message } }` with an HTTP status. */
export function sendError(
  res: ServerResponse,
  status: number,
  error: ApiErrorBody,
  extra: Readonly<Record<string, string>> = {},
): void {
  sendJson(res, status, { error: { code: error.code, message: error.message } }, extra);
}
