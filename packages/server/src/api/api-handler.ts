import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type SharedRateCounter, SharedWindowLimiter } from '../core/shared-rate.js';
import { systemClock } from '../internal/clock.js';
import { KeyedTokenBuckets } from '../internal/token-bucket.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import { type ApiFailure, type FailureKind, statusOf, wireError } from './api-errors.js';
import { ApiKeyChecker, readBody, sendError, sendJson } from './api-http.js';
import { type ApiNode, type CallContext, callMethod, callPublishes, type MethodOutcome } from './api-methods.js';
import {
  type ApiMethod,
  type ApiRequest,
  apiMethods,
  batchSchema,
  describeIssues,
  idempotencyHeaderSchema,
  isApiMethod,
  methodSchemas,
} from './api-schemas.js';
import { isJsonContentType, jsonNestingExceeds, maxApiJsonDepth } from './body-guard.js';
import { exportHistory } from './history-export.js';
import type { JsonOut } from './json-output.js';
import { serveState } from './state-endpoint.js';

/** Options of `createApiHandler`. */
export interface ApiHandlerOptions {
  /** Accepted API keys, compared in constant time. Empty: every request gets 401. */
  readonly apiKeys: readonly string[];
  /** Largest accepted request body; larger bodies get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  readonly logger?: Logger;
  /** Path prefix of the API. Default `/api`. */
  readonly prefix?: string;
  /** `Retry-After` seconds sent with 503. Default 1. */
  readonly retryAfterSec?: number;
  /** `max-age` of `GET <prefix>/state` answers, in seconds; 0 (default): `no-cache`, revalidate with the ETag. */
  readonly stateMaxAgeSec?: number;
  /** Publications per history read of `GET <prefix>/history/stream`. Default 1000. */
  readonly exportPageSize?: number;
  /**
   * API requests a second per API key (a batch is one request); beyond it 429 with code 111
   * and Retry-After, and nothing runs. 0 or absent: no limit.
   */
  readonly requestRatePerKey?: number;
  /** With several nodes: makes `requestRatePerKey` hold cluster-wide (see `SharedWindowLimiter`). */
  readonly rateCounter?: SharedRateCounter;
}

/** Spends one unit of `key`'s API budget; `undefined` when there is no limit. */
type KeyLimiter = (key: string) => { readonly ok: boolean; readonly retryAfterSec: number };

function keyLimiter(options: ApiHandlerOptions, logger: Logger): KeyLimiter | undefined {
  const rate = options.requestRatePerKey ?? 0;
  if (!Number.isInteger(rate) || rate < 0) {
    throw new TidingsError(TidingsErrorCode.Config, 'api.requestRatePerKey: expected an integer >= 0');
  }
  if (rate === 0) return undefined;
  // Keys are limited by digest: the key itself is never kept or sent to the shared store.
  const id = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 16);
  const counter = options.rateCounter;
  if (counter !== undefined) {
    const shared = new SharedWindowLimiter({ scope: 'api:key', limit: rate, counter, clock: systemClock, logger });
    return (key) => ({
      ok: shared.allow(id(key)),
      retryAfterSec: Math.max(1, Math.ceil(shared.retryAfterMs() / 1000)),
    });
  }
  const buckets = new KeyedTokenBuckets(systemClock, rate, rate, 10_000);
  return (key) => ({ ok: buckets.take(id(key)), retryAfterSec: 1 });
}

/** Handles a request when its path is under the API prefix; resolves true when it did. */
export type ApiRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

type Parsed<M extends ApiMethod = ApiMethod> = { readonly method: M; readonly req: ApiRequest<M> };

class BadRequest extends Error {}

function parseCommand(method: ApiMethod, body: unknown, at: readonly PropertyKey[]): Parsed {
  const parsed = methodSchemas[method].safeParse(body);
  if (!parsed.success) throw new BadRequest(describeIssues(parsed.error, at));
  return { method, req: parsed.data } as Parsed;
}

function parseBatch(body: unknown): { commands: Parsed[]; parallel: boolean } {
  const parsed = batchSchema.safeParse(body);
  if (!parsed.success) throw new BadRequest(describeIssues(parsed.error));
  const commands = parsed.data.commands.map((command, i) => {
    const names = Object.keys(command);
    const name = names[0];
    if (names.length !== 1 || name === undefined) throw new BadRequest(`commands[${i}]: expected exactly one method`);
    if (!isApiMethod(name)) throw new BadRequest(`commands[${i}]: unknown method (batch cannot nest)`);
    return parseCommand(name, command[name], ['commands', i, name]);
  });
  return { commands, parallel: parsed.data.parallel ?? false };
}

function idempotencyHeader(req: IncomingMessage): string | undefined {
  const parsed = idempotencyHeaderSchema.safeParse(req.headers['idempotency-key']);
  if (!parsed.success) throw new BadRequest('Idempotency-Key header: expected 1 to 256 characters');
  return parsed.data;
}

/**
 * The Centrifugo v5 compatible server HTTP API: `POST <prefix>/<method>` with a JSON body, for
 * publish, broadcast, history, history_remove, presence, presence_stats, channels, info,
 * disconnect, unsubscribe, subscribe and batch; `GET <prefix>/history/stream?channel=` (NDJSON
 * export of a channel's whole history with backpressure, see `exportHistory`); and
 * `GET <prefix>/state?channel=[&key=]` (a state channel's latest documents with ETag, see `serveState`).
 *
 * Status codes (docs/api.md): bad input answers 4xx with `{ "error": { code, message } }` —
 * 401 (no or wrong key), 400 (unparsable JSON, nesting deeper than 512, wrong field types, bad
 * header), 404 (unknown method), 405 (not POST), 413 (body too large), 415 (a non-empty body
 * without `Content-Type: application/json`) — and nothing runs. Errors of a well-formed
 * request (unknown channel 102, not available 108, ...) answer 200 with the error object, as
 * Centrifugo does. When the engine cannot store or read, the answer is 503 with Retry-After,
 * never 200; other server faults answer 500. Batch and broadcast answer per item; their HTTP
 * status is 503 (or 500) when any item failed that way.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` for a blank API key or bad limits.
 */
export function createApiHandler(node: ApiNode, options: ApiHandlerOptions): ApiRequestHandler {
  const keys = new ApiKeyChecker(options.apiKeys);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const retryAfter = String(options.retryAfterSec ?? 1);
  const prefix = options.prefix ?? '/api';
  const logger = options.logger ?? silentLogger;
  const limitKey = keyLimiter(options, logger);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new TidingsError(TidingsErrorCode.Config, 'api.maxBodyBytes: expected a positive integer');
  }
  const pageSize = options.exportPageSize;
  if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize <= 0)) {
    throw new TidingsError(TidingsErrorCode.Config, 'api.exportPageSize: expected a positive integer');
  }
  if (!prefix.startsWith('/') || prefix.endsWith('/')) {
    throw new TidingsError(TidingsErrorCode.Config, 'api.prefix: must start with "/" and not end with "/"');
  }

  const logFailure = (method: string, failure: ApiFailure): void => {
    if (failure.kind === 'unavailable') logger.warn({ method, err: failure.cause }, 'api: engine unavailable');
    else if (failure.kind === 'internal') logger.error({ method, err: failure.cause }, 'api: internal error');
  };

  const respond = (res: ServerResponse, kinds: readonly FailureKind[], body: JsonOut): void => {
    const status = statusOf(kinds);
    sendJson(res, status, body, status === 503 ? { 'Retry-After': retryAfter } : {});
  };

  const outcomeKinds = (outcome: MethodOutcome): readonly FailureKind[] =>
    outcome.ok ? outcome.inner : [outcome.failure.kind];

  async function runSingle(res: ServerResponse, cmd: Parsed, ctx: CallContext): Promise<void> {
    const outcome = await callMethod(node, cmd.method, cmd.req, ctx);
    if (!outcome.ok) logFailure(cmd.method, outcome.failure);
    const body = outcome.ok ? { result: outcome.result } : { error: { ...outcome.failure.error } };
    respond(res, outcomeKinds(outcome), body);
  }

  async function runBatch(res: ServerResponse, batch: { commands: Parsed[]; parallel: boolean }): Promise<void> {
    const call = async (cmd: Parsed): Promise<MethodOutcome> => {
      const outcome = await callMethod(node, cmd.method, cmd.req, {});
      if (!outcome.ok) logFailure(cmd.method, outcome.failure);
      return outcome;
    };
    let outcomes: MethodOutcome[];
    if (batch.parallel) outcomes = await Promise.all(batch.commands.map(call));
    else {
      outcomes = [];
      const commands = batch.commands;
      for (let i = 0; i < commands.length; ) {
        let end = i;
        while (end < commands.length && commands[end]?.method === 'publish') end++;
        if (end - i >= 2) {
          // A run of publishes: one engine round trip per shard, still applied in order.
          const run = commands.slice(i, end) as Parsed<'publish'>[];
          const results = await callPublishes(
            node,
            run.map((c) => c.req),
          );
          results.forEach((o) => {
            if (!o.ok) logFailure('publish', o.failure);
          });
          outcomes.push(...results);
          i = end;
        } else {
          outcomes.push(await call(commands[i] as Parsed));
          i++;
        }
      }
    }
    const replies = outcomes.map(
      (o, i): JsonOut => (o.ok ? { [batch.commands[i]!.method]: o.result } : { error: { ...o.failure.error } }),
    );
    respond(res, outcomes.flatMap(outcomeKinds), { replies });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (name === 'state') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 405, wireError(ErrorCode.BadRequest, 'method not allowed, use GET'), { Allow: 'GET, HEAD' });
      } else if (!keys.allows(ApiKeyChecker.presented(req))) sendError(res, 401, wireError(ErrorCode.Unauthorized));
      else {
        await serveState(node, req, res, {
          logger,
          ...(options.stateMaxAgeSec === undefined ? {} : { maxAgeSec: options.stateMaxAgeSec }),
        });
      }
      return;
    }
    if (name === 'history/stream') {
      if (req.method !== 'GET') {
        sendError(res, 405, wireError(ErrorCode.BadRequest, 'method not allowed, use GET'), { Allow: 'GET' });
      } else if (!keys.allows(ApiKeyChecker.presented(req))) sendError(res, 401, wireError(ErrorCode.Unauthorized));
      else {
        await exportHistory(node, req, res, { logger, ...(pageSize === undefined ? {} : { pageSize }) });
      }
      return;
    }
    if (req.method !== 'POST') {
      sendError(res, 405, wireError(ErrorCode.BadRequest, 'method not allowed, use POST'), { Allow: 'POST' });
      return;
    }
    const presented = ApiKeyChecker.presented(req);
    if (!keys.allows(presented)) {
      sendError(res, 401, wireError(ErrorCode.Unauthorized));
      return;
    }
    const limited = presented === undefined ? undefined : limitKey?.(presented);
    if (limited !== undefined && !limited.ok) {
      sendError(res, 429, wireError(ErrorCode.TooManyRequests, 'rate limit of this API key exceeded'), {
        'Retry-After': String(limited.retryAfterSec),
      });
      return;
    }
    if (!apiMethods.includes(name)) {
      sendError(res, 404, wireError(ErrorCode.MethodNotFound));
      return;
    }
    try {
      const idempotencyKey = idempotencyHeader(req);
      if (name === 'batch' && idempotencyKey !== undefined) {
        throw new BadRequest('Idempotency-Key header: not supported by batch, set idempotency_key per command');
      }
      const read = await readBody(req, maxBodyBytes);
      if (!read.ok) {
        sendError(res, 413, wireError(ErrorCode.LimitExceeded, `request body exceeds ${maxBodyBytes} bytes`), {
          Connection: 'close',
        });
        return;
      }
      let body: unknown = {};
      if (read.text.trim() !== '') {
        if (!isJsonContentType(req.headers['content-type'])) {
          sendError(
            res,
            415,
            wireError(ErrorCode.BadRequest, 'unsupported media type: send Content-Type: application/json'),
          );
          return;
        }
        if (jsonNestingExceeds(read.text)) {
          logger.warn({ method: name, bytes: Buffer.byteLength(read.text) }, 'api: body nesting too deep, refused');
          throw new BadRequest(`JSON nesting deeper than ${maxApiJsonDepth}`);
        }
        try {
          body = JSON.parse(read.text);
        } catch {
          throw new BadRequest('request body is not valid JSON');
        }
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new BadRequest('request body must be a JSON object');
      }
      if (name === 'batch') await runBatch(res, parseBatch(body));
      else if (isApiMethod(name)) {
        const ctx = idempotencyKey === undefined ? {} : { idempotencyKey };
        await runSingle(res, parseCommand(name, body, []), ctx);
      }
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      sendError(res, 400, wireError(ErrorCode.BadRequest, `bad request: ${error.message}`));
    }
  }

  return async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
    try {
      await handle(req, res, path.slice(prefix.length + 1));
    } catch (error) {
      logger.error({ err: error, path }, 'api: request failed');
      if (!res.headersSent) sendError(res, 500, wireError(ErrorCode.Internal));
      else res.destroy();
    }
    return true;
  };
}
