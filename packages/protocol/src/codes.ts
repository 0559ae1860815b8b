/**
 * Wire codes of the Centrifuge client protocol v2 (https://centrifugal.dev/docs/server/codes).
 * Numbers and messages match the published tables exactly so the public SDKs react correctly.
 */

/** Error codes inside a reply. Applications may use 400–1999. */
export const ErrorCode = {
  Internal: 100,
  Unauthorized: 101,
  UnknownChannel: 102,
  PermissionDenied: 103,
  MethodNotFound: 104,
  AlreadySubscribed: 105,
  LimitExceeded: 106,
  BadRequest: 107,
  NotAvailable: 108,
  TokenExpired: 109,
  Expired: 110,
  TooManyRequests: 111,
  UnrecoverablePosition: 112,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Wire message and temporary flag for each error code. */
export const errorMessages: Readonly<Record<ErrorCode, { message: string; temporary: boolean }>> = {
  100: { message: 'internal server error', temporary: true },
  101: { message: 'unauthorized', temporary: false },
  102: { message: 'unknown channel', temporary: false },
  103: { message: 'permission denied', temporary: false },
  104: { message: 'method not found', temporary: false },
  105: { message: 'already subscribed', temporary: false },
  106: { message: 'limit exceeded', temporary: false },
  107: { message: 'bad request', temporary: false },
  108: { message: 'not available', temporary: false },
  109: { message: 'token expired', temporary: false },
  110: { message: 'expired', temporary: false },
  111: { message: 'too many requests', temporary: true },
  112: { message: 'unrecoverable position', temporary: false },
};

/**
 * Disconnect codes, sent as the WebSocket close code (and close reason) or as a disconnect push
 * on one-way transports. 3000–3499 reconnect, 3500–3999 terminal, 4000–4499 application
 * reconnect, 4500–4999 application terminal.
 */
export const DisconnectCode = {
  ConnectionClosed: 3000,
  Shutdown: 3001,
  ServerError: 3004,
  Expired: 3005,
  SubExpired: 3006,
  Slow: 3008,
  WriteError: 3009,
  InsufficientState: 3010,
  ForceReconnect: 3011,
  NoPong: 3012,
  TooManyRequests: 3013,
  InvalidToken: 3500,
  BadRequest: 3501,
  Stale: 3502,
  ForceNoReconnect: 3503,
  ConnectionLimit: 3504,
  ChannelLimit: 3505,
  InappropriateProtocol: 3506,
  PermissionDenied: 3507,
  NotAvailable: 3508,
  TooManyErrors: 3509,
} as const;
export type DisconnectCode = (typeof DisconnectCode)[keyof typeof DisconnectCode];

/** Wire reason for each built-in disconnect code. */
export const disconnectReasons: Readonly<Record<DisconnectCode, string>> = {
  3000: 'connection closed',
  3001: 'shutdown',
  3004: 'internal server error',
  3005: 'connection expired',
  3006: 'subscription expired',
  3008: 'slow',
  3009: 'write error',
  3010: 'insufficient state',
  3011: 'force reconnect',
  3012: 'no pong',
  3013: 'too many requests',
  3500: 'invalid token',
  3501: 'bad request',
  3502: 'stale',
  3503: 'force disconnect',
  3504: 'connection limit',
  3505: 'channel limit',
  3506: 'inappropriate protocol',
  3507: 'permission denied',
  3508: 'not available',
  3509: 'too many errors',
};

/** Unsubscribe push codes. 2500–2999 ask the client to resubscribe. */
export const UnsubscribeCode = {
  Server: 2000,
  InsufficientState: 2500,
  Expired: 2501,
} as const;
export type UnsubscribeCode = (typeof UnsubscribeCode)[keyof typeof UnsubscribeCode];

export const unsubscribeReasons: Readonly<Record<UnsubscribeCode, string>> = {
  2000: 'server unsubscribe',
  2500: 'insufficient state',
  2501: 'subscription expired',
};

/** A disconnect as carried on the wire. */
export interface Disconnect {
  readonly code: number;
  readonly reason: string;
}

/** Build the wire disconnect for a built-in code. */
export function disconnectOf(code: DisconnectCode): Disconnect {
  return { code, reason: disconnectReasons[code] };
}

/** Ranges decide client behaviour: 3500–3999 and 4500–4999 are terminal, the rest reconnect. */
export function shouldReconnect(code: number): boolean {
  return !((code >= 3500 && code < 4000) || (code >= 4500 && code < 5000));
}
