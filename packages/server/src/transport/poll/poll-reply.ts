import type { ServerResponse } from 'node:http';
import { encodeCursor, type StreamPosition } from '@tidings/protocol';
import type { StreamPublication } from '../../broker/types.js';
import { decodeOneWayRecords, oneWayCodec } from '../one-way/index.js';

/** Why a channel could not be continued from the client's cursor (as in SSE/NDJSON `discontinuity`). */
export type DiscontinuityReason = 'history_expired' | 'epoch_changed';

/** One channel that jumped: publications before `offset` may be missing for the client. */
export interface PollDiscontinuity {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  readonly reason: DiscontinuityReason;
}

/** What a poll answers. */
export interface PollOutcome {
  /** Positions after the last publication of each channel in the reply. */
  readonly positions: ReadonlyMap<string, StreamPosition>;
  /** Publication JSON objects, each already serialized (payload verbatim). */
  readonly publications: readonly string[];
  readonly discontinuities: readonly PollDiscontinuity[];
  readonly nextPollMs: number;
  /** No token: the reply is the same for every anonymous client and a shared cache may keep it. */
  readonly anonymous: boolean;
}

/**
 * One publication as a JSON object `{"channel","offset","epoch","data","tags"?}`. The payload is
 * normalized exactly as on the SSE and NDJSON streams (verbatim when it is one line of JSON).
 */
export function publicationJson(channel: string, epoch: string, pub: StreamPublication): string {
  const unit = oneWayCodec.encodePush({
    channel,
    pub: { offset: pub.offset, data: pub.data, ...(pub.tags !== undefined ? { tags: pub.tags } : {}) },
  });
  const [record] = decodeOneWayRecords(unit);
  if (record?.kind !== 'publication') throw new Error('oneWayCodec did not produce a publication record');
  const head = `{"channel":${JSON.stringify(channel)},"offset":${pub.offset},"epoch":${JSON.stringify(epoch)},"data":`;
  return `${head}${Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('utf8')}${record.extras}}`;
}

/** The entity tag of a poll position: the cursor, quoted (RFC 9110 §8.8.3). */
export function etagOf(cursor: string): string {
  return `"${cursor}"`;
}

/** True when an `If-None-Match` header names this entity tag (weak or strong, or `*`). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * Writes the poll answer: 200 with `{ publications, cursor, discontinuities?, nextPollMs }`, or
 * 304 with no body when nothing moved and `If-None-Match` holds the cursor. Both carry `ETag`
 * (= cursor), `X-Tidings-Poll-After-Ms`, `Retry-After` (seconds, rounded up) and cache headers:
 * `public, max-age=<whole seconds of nextPollMs>` for anonymous requests, so a CDN can answer
 * identical polls; `private, no-cache` otherwise. `Vary` names every header that changes who
 * the client is.
 */
export function writePollReply(
  res: ServerResponse,
  outcome: PollOutcome,
  ifNoneMatch: string | undefined,
  extraHeaders: Readonly<Record<string, string>>,
): void {
  const cursor = encodeCursor(Object.fromEntries(outcome.positions));
  const etag = etagOf(cursor);
  const next = Math.max(0, Math.round(outcome.nextPollMs));
  const headers: Record<string, string> = {
    ...extraHeaders,
    etag,
    'x-tidings-poll-after-ms': String(next),
    'retry-after': String(Math.ceil(next / 1000)),
    'cache-control': outcome.anonymous ? `public, max-age=${Math.floor(next / 1000)}` : 'private, no-cache',
    vary: 'Origin, Authorization, Cookie',
    'x-content-type-options': 'nosniff',
  };
  const moved = outcome.publications.length > 0 || outcome.discontinuities.length > 0;
  if (!moved && ifNoneMatchHits(ifNoneMatch, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const discontinuities =
    outcome.discontinuities.length > 0 ? `,"discontinuities":${JSON.stringify(outcome.discontinuities)}` : '';
  const body = `{"publications":[${outcome.publications.join(',')}],"cursor":"${cursor}"${discontinuities},"nextPollMs":${next}}`;
  res.writeHead(200, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}
