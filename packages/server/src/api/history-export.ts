import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientError, ErrorCode, type StreamPosition } from '@tidings/protocol';
import type { StreamPublication } from '../broker/types.js';
import type { Logger } from '../observability/logger.js';
import { type ApiErrorBody, toFailure, wireError } from './api-errors.js';
import { sendError } from './api-http.js';
import type { ApiNode } from './api-methods.js';
import { historyStreamQuerySchema } from './api-schemas.js';
import { clientInfoOut, jsonOf, stringifyJson } from './json-output.js';

/** Options of `exportHistory`. */
export interface HistoryExportOptions {
  /** Publications read from the history store per page. Default 1000. */
  readonly pageSize?: number;
  /** `Retry-After` seconds sent with 503. Default 1. */
  readonly retryAfterSec?: number;
  readonly logger: Logger;
}

/** HTTP status of an error that refuses the export before its first line. */
function statusOfRefusal(error: ApiErrorBody, kind: 'protocol' | 'unavailable' | 'internal'): number {
  if (kind === 'unavailable') return 503;
  if (kind === 'internal') return 500;
  if (error.code === ErrorCode.UnknownChannel) return 404;
  return 400;
}

/**
 * One publication line, as `publicationOut` writes it (`data` or `b64data`, `info`, `offset`,
 * `tags`), built as one template string: with the general JSON writer's per-publication objects
 * and arrays, V8 moved enough garbage into old space to grow RSS by over 100 MiB per million
 * lines (bench/history-export.mjs); this way it stays within a few MiB.
 */
function lineOf(pub: StreamPublication): string {
  let data = '"b64data":""';
  if (pub.data.byteLength > 0) {
    const json = jsonOf(pub.data);
    data =
      json === undefined
        ? `"b64data":"${Buffer.from(pub.data.buffer, pub.data.byteOffset, pub.data.byteLength).toString('base64')}"`
        : `"data":${json.text}`;
  }
  const info = pub.info === undefined ? '' : `,"info":${stringifyJson(clientInfoOut(pub.info))}`;
  const tags =
    pub.tags === undefined || Object.keys(pub.tags).length === 0 ? '' : `,"tags":${JSON.stringify(pub.tags)}`;
  return `{"type":"publication",${data}${info},"offset":${pub.offset}${tags}}\n`;
}

/** Resolves once the response may take more data: at once, on 'drain', or false on close. */
function writable(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

function channelOf(req: IncomingMessage): string | ApiErrorBody {
  const params = new URL(req.url ?? '/', 'http://x').searchParams.getAll('channel');
  const parsed = historyStreamQuerySchema.safeParse({ channel: params });
  if (!parsed.success) {
    return wireError(ErrorCode.BadRequest, 'bad request: expected exactly one channel query parameter');
  }
  return parsed.data.channel[0]!;
}

/**
 * `GET <prefix>/history/stream?channel=<ch>`: streams the channel's whole retained history,
 * oldest first, as NDJSON (`application/x-ndjson`), one `{"type":"publication", offset, data |
 * b64data, info?, tags?}` a line, then `{"type":"end", channel, epoch, offset, publications}`.
 *
 * The export is bounded by the top position read when it starts: publications made while it
 * runs are not included, and the `end` position (`<epoch>.<offset>`) is where a subscriber
 * continues from. Memory stays flat whatever the history size: history is read in pages of
 * `pageSize` with `since`, and the next page is read only once the socket has taken the
 * previous one (`drain`). It stops as soon as the client goes away.
 *
 * Refused before the first line with a JSON error: 400 (107: no or several `channel`, bad name;
 * 108: the namespace keeps no history), 404 (102: unknown namespace), 503 (engine unavailable).
 * If the history can no longer be continued from the export's position (trimmed by retention
 * while a slow client read it, epoch changed, or a `skip_history` hole), the last line is
 * `{"type":"error","error":{"code":112,...}}` instead of `end`: no publication is skipped
 * silently. A response that ends with neither line was cut.
 */
export async function exportHistory(
  node: Pick<ApiNode, 'history'>,
  req: IncomingMessage,
  res: ServerResponse,
  options: HistoryExportOptions,
): Promise<void> {
  const pageSize = options.pageSize ?? 1000;
  const channel = channelOf(req);
  if (typeof channel !== 'string') return sendError(res, 400, channel);

  let top: StreamPosition;
  try {
    const read = await node.history(channel, { limit: 0 });
    top = { offset: read.offset, epoch: read.epoch };
  } catch (error) {
    const failure = toFailure(error);
    if (failure.kind !== 'protocol') options.logger.warn({ err: error, channel }, 'api: history export refused');
    const retry: Record<string, string> =
      failure.kind === 'unavailable' ? { 'Retry-After': String(options.retryAfterSec ?? 1) } : {};
    return sendError(res, statusOfRefusal(failure.error, failure.kind), failure.error, retry);
  }

  res.writeHead(200, {
    'Content-Type': 'application/x-ndjson',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Accel-Buffering': 'no',
  });
  let count = 0;
  let since: StreamPosition | undefined;
  try {
    while (since === undefined || since.offset < top.offset) {
      const page = await node.history(channel, { limit: pageSize, ...(since === undefined ? {} : { since }) });
      if (page.epoch !== top.epoch) throw clientError(ErrorCode.UnrecoverablePosition);
      let text = '';
      let last: number | undefined;
      for (const pub of page.publications) {
        if (pub.offset > top.offset) break;
        text += lineOf(pub);
        last = pub.offset;
        count++;
      }
      if (last === undefined) break; // nothing retained after `since` up to the top: done
      if (!(await writable(res, text))) return;
      since = { offset: last, epoch: top.epoch };
    }
  } catch (error) {
    const failure = toFailure(error);
    if (failure.kind !== 'protocol') options.logger.warn({ err: error, channel }, 'api: history export failed');
    res.end(`${stringifyJson({ type: 'error', error: { ...failure.error } })}\n`);
    return;
  }
  res.end(`${stringifyJson({ type: 'end', channel, epoch: top.epoch, offset: top.offset, publications: count })}\n`);
}
