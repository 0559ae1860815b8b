import type { ServerResponse } from 'node:http';
import { type Disconnect, DisconnectCode, ErrorCode, type ReplyErrorBody } from '@tidings/protocol';

/** HTTP status of a wire error code refusing a one-way request. */
export function statusOfWire(code: number): number {
  switch (code) {
    case ErrorCode.Unauthorized:
    case ErrorCode.TokenExpired:
      return 401;
    case ErrorCode.PermissionDenied:
      return 403;
    case ErrorCode.UnknownChannel:
      return 404;
    case ErrorCode.Internal:
      return 503;
    default:
      return 400;
  }
}

/** HTTP status and JSON error body for a session closed before a one-way request was answered. */
export function disconnectFailure(disconnect: Disconnect): { status: number; body: ReplyErrorBody } {
  if (disconnect.code === DisconnectCode.InvalidToken) {
    return { status: 401, body: { code: ErrorCode.Unauthorized, message: 'invalid token' } };
  }
  if (disconnect.code === DisconnectCode.Shutdown) {
    return { status: 503, body: { code: ErrorCode.Internal, message: 'shutting down, retry later' } };
  }
  if (disconnect.code >= 3500 && disconnect.code < 3600) {
    return { status: 400, body: { code: ErrorCode.BadRequest, message: disconnect.reason } };
  }
  return { status: 503, body: { code: ErrorCode.Internal, message: disconnect.reason } };
}

/** Answers `{ "error": { "code", "message" } }` unless headers were sent already. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}
