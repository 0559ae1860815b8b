import { ErrorCode, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { hookDisconnect } from '../core/hooks.js';
import type { Logger } from '../observability/logger.js';

/** One backend endpoint of a proxy. */
export interface ProxyEndpoint {
  /** Where the JSON request is POSTed. */
  readonly url: string;
  /** Per attempt; default the proxy's `timeoutMs`. */
  readonly timeoutMs?: number;
}

/** The proxy events, named as Centrifugo names them (also the `proxy` label of logs). */
export type ProxyKind = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'sub_refresh' | 'rpc';

/** The calls that may be repeated safely: they only read or grant, they change nothing. */
const idempotent: ReadonlySet<ProxyKind> = new Set(['connect', 'refresh', 'subscribe', 'sub_refresh']);

/** What `callBackend` needs besides the request. */
export interface BackendCallOptions {
  readonly timeoutMs: number;
  /** Extra attempts after a connection error or a 502/503/504, for idempotent kinds only. */
  readonly retries: number;
  readonly maxResponseBytes: number;
  readonly logger: Logger;
  readonly fetch: typeof fetch;
}

/** A backend reply: `result`, or a refusal the backend chose. */
export type BackendReply = Record<string, unknown>;

/**
 * POSTs one proxy request and returns the reply's `result` object (`{}` when the backend
 * answered none). A backend `error` becomes a client reply error with its code, a backend
 * `disconnect` a `HookDisconnect`.
 *
 * @throws TidingsError `TIDINGS_ERR_PROXY` (wire 100, temporary) when the backend timed out,
 *   was unreachable, answered another status than 200 or a body that is not a JSON object.
 *   Only idempotent kinds are retried, and never after a timeout: a slow backend is not asked twice.
 */
export async function callBackend(
  kind: ProxyKind,
  endpoint: ProxyEndpoint,
  body: Record<string, unknown>,
  headers: Record<string, string>,
  options: BackendCallOptions,
): Promise<BackendReply> {
  const attempts = idempotent.has(kind) ? 1 + options.retries : 1;
  const timeoutMs = endpoint.timeoutMs ?? options.timeoutMs;
  const payload = JSON.stringify(body);
  let failure = 'no attempt';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const outcome = await attemptOnce(endpoint.url, payload, headers, timeoutMs, options);
    if (outcome.kind === 'reply') return interpret(outcome.reply);
    failure = outcome.reason;
    if (!outcome.retryable) break;
    if (attempt < attempts) await delay(25 * attempt);
  }
  options.logger.warn({ proxy: kind, url: endpoint.url, reason: failure }, 'proxy backend failed');
  throw new TidingsError(
    TidingsErrorCode.Proxy,
    failure.startsWith('timed out') ? 'backend timeout' : 'backend error',
    {
      wireCode: ErrorCode.Internal,
      temporary: true,
    },
  );
}

type Attempt =
  | { readonly kind: 'reply'; readonly reply: Record<string, unknown> }
  | { readonly kind: 'failed'; readonly reason: string; readonly retryable: boolean };

async function attemptOnce(
  url: string,
  payload: string,
  headers: Record<string, string>,
  timeoutMs: number,
  options: BackendCallOptions,
): Promise<Attempt> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await options.fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
      body: payload,
      signal,
      redirect: 'error',
    });
  } catch (error) {
    if (signal.aborted) return { kind: 'failed', reason: `timed out after ${timeoutMs} ms`, retryable: false };
    return { kind: 'failed', reason: `unreachable: ${causeOf(error)}`, retryable: true };
  }
  try {
    if (response.status !== 200) {
      await response.body?.cancel();
      const retryable = response.status === 502 || response.status === 503 || response.status === 504;
      return { kind: 'failed', reason: `answered HTTP ${response.status}`, retryable };
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > options.maxResponseBytes) {
      await response.body?.cancel();
      return { kind: 'failed', reason: `reply of ${declared} bytes is too large`, retryable: false };
    }
    const text = await response.text();
    if (text.length > options.maxResponseBytes) {
      return { kind: 'failed', reason: 'reply is too large', retryable: false };
    }
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { kind: 'failed', reason: 'reply is not a JSON object', retryable: false };
    }
    return { kind: 'reply', reply: parsed as Record<string, unknown> };
  } catch (error) {
    if (signal.aborted) return { kind: 'failed', reason: `timed out after ${timeoutMs} ms`, retryable: false };
    return { kind: 'failed', reason: `bad reply: ${causeOf(error)}`, retryable: false };
  }
}

function interpret(reply: Record<string, unknown>): BackendReply {
  const disconnect = reply.disconnect;
  if (isObject(disconnect) && typeof disconnect.code === 'number') {
    throw hookDisconnect(disconnect.code, typeof disconnect.reason === 'string' ? disconnect.reason : '');
  }
  const error = reply.error;
  if (isObject(error) && typeof error.code === 'number') {
    throw new TidingsError(TidingsErrorCode.Client, typeof error.message === 'string' ? error.message : '', {
      wireCode: error.code,
      temporary: error.temporary === true,
    });
  }
  const result = reply.result;
  return isObject(result) ? result : {};
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
