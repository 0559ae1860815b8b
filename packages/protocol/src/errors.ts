import { type ErrorCode, errorMessages } from './codes.js';

const brand = Symbol.for('tidings.error');

/**
 * Stable string codes of programmer, configuration and request errors. Every code is listed in
 * docs/errors.md (a test checks both directions).
 */
export const TidingsErrorCode = {
  /** A config value failed validation; the message names the option path. */
  Config: 'TIDINGS_ERR_CONFIG',
  /** A protocol frame could not be decoded. */
  BadFrame: 'TIDINGS_ERR_BAD_FRAME',
  /** A frame exceeded the configured maximum size. */
  FrameTooLarge: 'TIDINGS_ERR_FRAME_TOO_LARGE',
  /** A channel name is invalid (length or charset). */
  BadChannel: 'TIDINGS_ERR_BAD_CHANNEL',
  /** A cursor or stream position could not be parsed. */
  BadCursor: 'TIDINGS_ERR_BAD_CURSOR',
  /** An error that is sent to a client as a reply error with a numeric wire code. */
  Client: 'TIDINGS_ERR_CLIENT',
  /** The broker could not store or deliver right now; retry later (HTTP 503). */
  Unavailable: 'TIDINGS_ERR_UNAVAILABLE',
  /** A method was called in a state that does not allow it (e.g. after close). */
  State: 'TIDINGS_ERR_STATE',
  /** A proxy backend timed out, was unreachable or answered badly; the client gets 100 (temporary). */
  Proxy: 'TIDINGS_ERR_PROXY',
} as const;
export type TidingsErrorCode = (typeof TidingsErrorCode)[keyof typeof TidingsErrorCode];

/** Options of a `TidingsError`. */
export interface TidingsErrorOptions {
  /** Numeric wire code (Centrifuge reply error code) when the error is meant for a client. */
  readonly wireCode?: number;
  /** Whether the client may retry (the wire `temporary` flag). */
  readonly temporary?: boolean;
  readonly cause?: unknown;
}

/**
 * The one error type of Tidings. `code` is a stable `TIDINGS_ERR_*` string; `wireCode` is set
 * when the error travels to a client as a reply error. Detect it with `isTidingsError`, which
 * works across duplicate installs (the brand is a registered symbol).
 */
export class TidingsError extends Error {
  readonly code: TidingsErrorCode;
  readonly wireCode: number | undefined;
  readonly temporary: boolean;
  readonly [brand] = true;

  constructor(code: TidingsErrorCode, message: string, options: TidingsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TidingsError';
    this.code = code;
    this.wireCode = options.wireCode;
    this.temporary = options.temporary ?? false;
  }
}

/** True for any `TidingsError`, even from another copy of this package. */
export function isTidingsError(value: unknown): value is TidingsError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** A client-facing error with a built-in wire code and its standard message. */
export function clientError(code: ErrorCode, message?: string): TidingsError {
  const std = errorMessages[code];
  return new TidingsError(TidingsErrorCode.Client, message ?? std.message, {
    wireCode: code,
    temporary: std.temporary,
  });
}
