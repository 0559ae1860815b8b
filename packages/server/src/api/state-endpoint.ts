import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@tidings/protocol';
import type { StateEntry } from '../broker/types.js';
import type { Logger } from '../observability/logger.js';
import { type ApiErrorBody, toFailure, wireError } from './api-errors.js';
import { sendError } from './api-http.js';
import type { ApiNode } from './api-methods.js';
import { type JsonOut, jsonOf, stringifyJson } from './json-output.js';

/** Options of `serveState`. */
export interface StateEndpointOptions {
  /** `max-age` of the `Cache-Control` header, in seconds; 0 (default) = `no-cache` (revalidate every time). */
  readonly maxAgeSec?: number;
  /** `Retry-After` seconds sent with 503. Default 1. */
  readonly retryAfterSec?: number;
  readonly logger: Logger;
}

function statusOf(error: ApiErrorBody, kind: 'protocol' | 'unavailable' | 'internal'): number {
  if (kind === 'unavailable') return 503;
  if (kind === 'internal') return 500;
  if (error.code === ErrorCode.UnknownChannel || error.code === ErrorCode.NotAvailable) return 404;
  return 400;
}

/** A strong validator of exactly these entries (keys, epochs, offsets): it changes with every write. */
export function stateEtag(entries: readonly StateEntry[]): string {
  const hash = createHash('sha1');
  for (const e of entries) hash.update(`${e.key}\u0000${e.epoch}\u0000${e.offset}\n`);
  return `"${hash.digest('base64url').slice(0, 22)}"`;
}

/** RFC 9110 §13.1.2: If-None-Match matches with the weak comparison; `*` matches any current state. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function entryOut(e: StateEntry): { readonly [key: string]: JsonOut } {
  const json = jsonOf(e.data);
  return {
    key: e.key,
    offset: e.offset,
    epoch: e.epoch,
    time: e.time,
    ...(json === undefined ? { data: null } : { data: json }),
  };
}

/**
 * `GET <prefix>/state?channel=<ch>[&key=<k>]`: the latest documents of a state channel — one
 * key (`{channel, key, offset, epoch, time, data}`) or every key (`{channel, entries: [...]}`,
 * in offset order) — with a strong `ETag` of the keys and positions, answering 304 to a
 * matching `If-None-Match`, and `Cache-Control: public` (`no-cache`, or `max-age` when set) so a
 * CDN or poller can keep it and revalidate cheaply. `HEAD` answers the headers only.
 *
 * Refused with a JSON error: 400 (107: no or several `channel`, several `key`, bad name), 404
 * (102: unknown namespace or a key with no document; 108: not a state channel), 503 (engine
 * unavailable, with Retry-After).
 */
export async function serveState(
  node: Pick<ApiNode, 'state'>,
  req: IncomingMessage,
  res: ServerResponse,
  options: StateEndpointOptions,
): Promise<void> {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const channels = query.getAll('channel');
  const keys = query.getAll('key');
  if (channels.length !== 1 || channels[0] === '' || keys.length > 1) {
    return sendError(res, 400, wireError(ErrorCode.BadRequest, 'expected one channel and at most one key'));
  }
  const channel = channels[0]!;
  const key = keys[0];
  let entries: StateEntry[];
  try {
    entries = await node.state(channel, key);
  } catch (error) {
    const failure = toFailure(error);
    if (failure.kind !== 'protocol') options.logger.warn({ err: error, channel }, 'api: state read failed');
    const retry: Record<string, string> =
      failure.kind === 'unavailable' ? { 'Retry-After': String(options.retryAfterSec ?? 1) } : {};
    return sendError(res, statusOf(failure.error, failure.kind), failure.error, retry);
  }
  if (key !== undefined && entries.length === 0) {
    return sendError(res, 404, wireError(ErrorCode.UnknownChannel, 'no document for this key'));
  }
  const etag = stateEtag(entries);
  const maxAge = options.maxAgeSec ?? 0;
  const headers = {
    ETag: etag,
    'Cache-Control': maxAge > 0 ? `public, max-age=${maxAge}` : 'public, no-cache',
    Vary: 'X-API-Key, Authorization',
  };
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = key === undefined ? { channel, entries: entries.map(entryOut) } : { channel, ...entryOut(entries[0]!) };
  const text = stringifyJson(body);
  res.writeHead(200, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
