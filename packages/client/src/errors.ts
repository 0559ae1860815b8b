/**
 * Throw this from a `getToken()` callback when the user may not connect or subscribe (for example
 * your backend answered 401/403): the client stops for good instead of retrying. Any other error a
 * callback throws counts as a network error and is retried with backoff.
 */
export class UnauthorizedError extends Error {
  constructor(message = 'unauthorized') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** True for errors that should stop the client (see {@link UnauthorizedError}). */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof UnauthorizedError || (error instanceof Error && error.name === 'UnauthorizedError');
}

/** A command could not complete because the connection went away; the client retries it. */
export class ConnectionLostError extends Error {
  constructor() {
    super('connection lost');
    this.name = 'ConnectionLostError';
  }
}

/** A random identifier (RFC 4122 v4 when `crypto.randomUUID` exists). */
export function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
