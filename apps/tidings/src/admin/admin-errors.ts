/**
 * Stable codes of the admin console's JSON API (`/admin/api/*`), in the `error.code` of
 * `{ "error": { "code", "message" } }`. Listed in docs/errors.md ("Admin console errors").
 */
export const AdminErrorCode = {
  /** No `admin.password` or `admin.token` is configured: the console is off (404). */
  Disabled: 'admin_disabled',
  /** The password (or token) given to `POST /admin/api/login` is wrong (401). */
  LoginFailed: 'admin_login_failed',
  /** Too many failed logins from one address within a minute (429 + Retry-After). */
  TooManyAttempts: 'admin_too_many_attempts',
  /** No valid session cookie and no valid `Authorization: Bearer <admin.token>` (401). */
  Unauthorized: 'admin_unauthorized',
  /** A POST without `Content-Type: application/json`, or from a foreign Origin (403). */
  Forbidden: 'admin_forbidden',
  /** A malformed body or parameter: bad JSON, missing channel or user (400). */
  BadRequest: 'admin_bad_request',
  /** The channel was refused by the namespace rules (unknown namespace, bad name) (400). */
  BadChannel: 'admin_bad_channel',
  /** No such admin endpoint, or the console's built files are missing (404). */
  NotFound: 'admin_not_found',
  /** Wrong HTTP method for the endpoint (405). */
  MethodNotAllowed: 'admin_method_not_allowed',
  /** The engine failed or is unreachable (503 + Retry-After). */
  Unavailable: 'admin_unavailable',
} as const;

export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];
