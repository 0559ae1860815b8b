import { ErrorCode, errorMessages, isTidingsError, TidingsErrorCode } from '@tidings/protocol';

/** The `error` object of an API response, as in Centrifugo: `{ code, message }`. */
export interface ApiErrorBody {
  readonly code: number;
  readonly message: string;
}

/**
 * How an operation failed, which decides the HTTP status:
 * - `protocol`: the request was understood and refused (unknown channel 102, not available 108,
 *   unrecoverable position 112, bad channel name 107...): HTTP 200 with an `error` body, as
 *   Centrifugo answers.
 * - `unavailable`: the engine could not store or read right now: HTTP 503 + Retry-After.
 * - `internal`: anything unexpected: HTTP 500.
 */
export type FailureKind = 'protocol' | 'unavailable' | 'internal';

/** A failed operation. */
export interface ApiFailure {
  readonly kind: FailureKind;
  readonly error: ApiErrorBody;
  /** What was thrown, for server logs only; never sent to the caller. */
  readonly cause?: unknown;
}

/** The error body of a built-in wire code with its standard message. */
export function wireError(code: ErrorCode, message?: string): ApiErrorBody {
  return { code, message: message ?? errorMessages[code].message };
}

/** Classifies anything an operation threw. Never exposes internal error messages. */
export function toFailure(error: unknown): ApiFailure {
  if (isTidingsError(error)) {
    // Checked before wireCode: the node marks unavailability with wire 100 as well.
    if (error.code === TidingsErrorCode.Unavailable || error.code === TidingsErrorCode.State) {
      return {
        kind: 'unavailable',
        error: wireError(ErrorCode.Internal, 'engine unavailable, retry later'),
        cause: error,
      };
    }
    if (error.wireCode !== undefined && error.wireCode !== ErrorCode.Internal) {
      return { kind: 'protocol', error: { code: error.wireCode, message: error.message } };
    }
    if (error.code === TidingsErrorCode.BadChannel || error.code === TidingsErrorCode.BadCursor) {
      return { kind: 'protocol', error: wireError(ErrorCode.BadRequest) };
    }
  }
  return { kind: 'internal', error: wireError(ErrorCode.Internal), cause: error };
}

/** The HTTP status of a response whose operations failed with these kinds (none → 200). */
export function statusOf(kinds: Iterable<FailureKind>): number {
  let status = 200;
  for (const kind of kinds) {
    if (kind === 'unavailable') return 503;
    if (kind === 'internal') status = 500;
  }
  return status;
}
