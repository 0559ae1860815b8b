import type { IncomingMessage, ServerResponse } from 'node:http';
import { DisconnectCode, disconnectOf, isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import type { Logger, TidingsNode } from '@tidings/server';
import { z } from 'zod';
import { type AdminAuth, adminCookie, readCookie } from './admin-auth.js';
import { AdminErrorCode } from './admin-errors.js';
import type { AdminSampler } from './admin-sampler.js';
import type { AdminAssets } from './admin-static.js';
import { type AdminTail, adminTailPath } from './admin-tail.js';

/** What the admin routes need. */
export interface AdminRoutesOptions {
  readonly node: TidingsNode;
  readonly auth: AdminAuth;
  /** Undefined when the console is off (no password or token). */
  readonly sampler: AdminSampler | undefined;
  readonly tail: AdminTail;
  /** The built console (apps/dashboard/dist/admin), or undefined when it is not built. */
  readonly assets: AdminAssets | undefined;
  readonly logger: Logger;
  /** Engine type, shown in the console. */
  readonly engine: string;
  /** Set the cookie's `Secure` attribute (the server speaks HTTPS). */
  readonly secureCookie: boolean;
  readonly now?: () => number;
}

/** Largest accepted admin API body. */
export const maxAdminBodyBytes = 64 * 1024;
/** Publications the channel browser shows. */
export const adminHistoryLimit = 20;

class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const securityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
});

/** The console page's policy: its own scripts and styles only, no framing, same-origin calls. */
export const adminCsp =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendError(res: ServerResponse, error: AdminHttpError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/** Body of `POST /admin/api/login` (also documented from it in /api/openapi.json). */
export const loginBody = z.object({ password: z.string().min(1).max(1024) });
/** Body of `POST /admin/api/publish`. */
export const publishBody = z.object({ channel: z.string().min(1), data: z.unknown() });
/** Body of `POST /admin/api/disconnect`. */
export const disconnectBody = z.object({ user: z.string().min(1), client: z.string().min(1).optional() });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxAdminBodyBytes) {
      throw new AdminHttpError(400, AdminErrorCode.BadRequest, `body larger than ${maxAdminBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AdminHttpError(400, AdminErrorCode.BadRequest, 'body is not valid JSON');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
  throw new AdminHttpError(400, AdminErrorCode.BadRequest, `${where}: ${issue?.message ?? 'invalid'}`);
}

/** Maps what the node threw to an admin error; anything unexpected is rethrown (500). */
function nodeError(error: unknown): AdminHttpError {
  if (isTidingsError(error)) {
    if (error.code === TidingsErrorCode.Unavailable || error.code === TidingsErrorCode.State) {
      return new AdminHttpError(503, AdminErrorCode.Unavailable, 'engine unavailable, retry later', {
        'retry-after': '1',
      });
    }
    if (error.code === TidingsErrorCode.BadChannel || error.wireCode === 102 || error.wireCode === 107) {
      return new AdminHttpError(400, AdminErrorCode.BadChannel, error.message);
    }
    if (error.wireCode === 108) return new AdminHttpError(400, AdminErrorCode.BadChannel, error.message);
  }
  throw error;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Publication or info bytes as the console shows them: JSON when they are JSON, else base64. */
function bytesOut(bytes: Uint8Array | undefined): { data?: unknown; b64data?: string } {
  if (bytes === undefined) return {};
  try {
    return { data: JSON.parse(decoder.decode(bytes)) };
  } catch {
    return { b64data: Buffer.from(bytes).toString('base64') };
  }
}

/**
 * The admin console at `/admin`: the built page and its assets (public: they hold no data),
 * and the JSON API at `/admin/api/*` behind the admin password (a session cookie from
 * `POST /admin/api/login`) or `Authorization: Bearer <admin.token>`. Resolves true when the
 * request was for `/admin`. See docs/admin.md.
 */
export function createAdminRoutes(
  options: AdminRoutesOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const { node, auth, tail, assets, logger } = options;
  const now = options.now ?? Date.now;

  const authenticated = (req: IncomingMessage): boolean =>
    auth.checkBearer(req.headers.authorization) ||
    auth.verifySession(readCookie(req.headers.cookie, adminCookie), now());

  const requireSession = (req: IncomingMessage): void => {
    if (!authenticated(req)) {
      throw new AdminHttpError(401, AdminErrorCode.Unauthorized, 'log in at /admin first (or send Bearer admin.token)');
    }
  };

  // Cross-site form posts cannot send JSON without a CORS preflight, which /admin never grants;
  // a present Origin must be this host's.
  const requireSameOriginJson = (req: IncomingMessage): void => {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new AdminHttpError(403, AdminErrorCode.Forbidden, 'POST needs Content-Type: application/json');
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host === undefined || host !== req.headers.host) {
        throw new AdminHttpError(403, AdminErrorCode.Forbidden, 'cross-origin request refused');
      }
    }
  };

  const cookie = (value: string, maxAgeSec: number): string =>
    `${adminCookie}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${options.secureCookie ? '; Secure' : ''}`;

  const method = (req: IncomingMessage, allowed: 'GET' | 'POST'): void => {
    const m = req.method ?? 'GET';
    const ok = allowed === 'GET' ? m === 'GET' || m === 'HEAD' : m === 'POST';
    if (!ok) {
      throw new AdminHttpError(405, AdminErrorCode.MethodNotAllowed, 'method not allowed', {
        allow: allowed === 'GET' ? 'GET, HEAD' : 'POST',
      });
    }
  };

  const channelParam = (query: URLSearchParams): string => {
    const channel = query.get('channel');
    if (channel === null || channel === '') throw new AdminHttpError(400, AdminErrorCode.BadRequest, 'pass ?channel=');
    try {
      node.rules.resolve(channel);
    } catch (error) {
      throw nodeError(error);
    }
    return channel;
  };

  const api = async (req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams) => {
    const address = req.socket.remoteAddress ?? '';
    switch (name) {
      case 'login': {
        method(req, 'POST');
        requireSameOriginJson(req);
        const wait = auth.blockedFor(address, now());
        if (wait > 0) {
          throw new AdminHttpError(429, AdminErrorCode.TooManyAttempts, 'too many failed logins, retry later', {
            'retry-after': String(wait),
          });
        }
        const { password } = parse(loginBody, await readJson(req));
        if (!auth.checkLogin(password)) {
          auth.failed(address, now());
          logger.warn({ remoteAddress: address }, 'admin: failed login');
          throw new AdminHttpError(401, AdminErrorCode.LoginFailed, 'wrong password');
        }
        auth.succeeded(address);
        logger.info({ remoteAddress: address }, 'admin: login');
        return sendJson(
          res,
          200,
          { ok: true },
          { 'set-cookie': cookie(auth.issueSession(now()), Math.floor(auth.sessionTtlMs / 1000)) },
        );
      }
      case 'logout':
        method(req, 'POST');
        requireSameOriginJson(req);
        return sendJson(res, 200, { ok: true }, { 'set-cookie': cookie('', 0) });
      case 'session':
        method(req, 'GET');
        requireSession(req);
        return sendJson(res, 200, {
          node: { id: node.id, name: node.name, version: node.version },
          engine: options.engine,
          tailUser: 'tidings-admin',
        });
      case 'stats': {
        method(req, 'GET');
        requireSession(req);
        const since = Number(query.get('since') ?? 0);
        return sendJson(res, 200, {
          node: { id: node.id, name: node.name, version: node.version },
          engine: { type: options.engine, ready: node.ready() },
          nodes: node.nodes(),
          samples: options.sampler?.samples(Number.isFinite(since) ? since : 0) ?? [],
        });
      }
      case 'channels': {
        method(req, 'GET');
        requireSession(req);
        const pattern = query.get('pattern') ?? undefined;
        const channels = node
          .channels(pattern === '' ? undefined : pattern)
          .sort((a, b) => b.numClients - a.numClients || a.channel.localeCompare(b.channel))
          .slice(0, 1000);
        return sendJson(res, 200, { channels });
      }
      case 'channel': {
        method(req, 'GET');
        requireSession(req);
        const channel = channelParam(query);
        const ns = node.rules.resolve(channel).options;
        const [presence, history] = await Promise.all([
          ns.presence
            ? node.presence(channel).then(
                (p) => Object.values(p).map((info) => ({ client: info.client, user: info.user })),
                (error: unknown) => {
                  throw nodeError(error);
                },
              )
            : Promise.resolve(null),
          ns.historySize > 0
            ? node.history(channel, { limit: adminHistoryLimit, reverse: true }).catch((error: unknown) => {
                throw nodeError(error);
              })
            : Promise.resolve(null),
        ]);
        const subscribers = node.channels().find((c) => c.channel === channel)?.numClients ?? 0;
        return sendJson(res, 200, {
          channel,
          subscribers,
          presence,
          history:
            history === null
              ? null
              : {
                  epoch: history.epoch,
                  offset: history.offset,
                  publications: history.publications.map((p) => ({
                    offset: p.offset,
                    time: p.time,
                    ...bytesOut(p.data),
                  })),
                },
        });
      }
      case 'publish': {
        method(req, 'POST');
        requireSession(req);
        requireSameOriginJson(req);
        const body = parse(publishBody, await readJson(req));
        if (body.data === undefined) throw new AdminHttpError(400, AdminErrorCode.BadRequest, 'data: required');
        const result = await node
          .publish(body.channel, new TextEncoder().encode(JSON.stringify(body.data)), { source: 'api' })
          .catch((error: unknown) => {
            throw nodeError(error);
          });
        logger.info({ channel: body.channel }, 'admin: publish');
        return sendJson(res, 200, { offset: result.offset, epoch: result.epoch });
      }
      case 'disconnect': {
        method(req, 'POST');
        requireSession(req);
        requireSameOriginJson(req);
        const body = parse(disconnectBody, await readJson(req));
        await node.disconnectUser(
          body.user,
          disconnectOf(DisconnectCode.ForceNoReconnect),
          body.client === undefined ? {} : { clientId: body.client },
        );
        logger.info({ user: body.user }, 'admin: disconnect');
        return sendJson(res, 200, { ok: true });
      }
      case 'tail': {
        method(req, 'GET');
        requireSession(req);
        const channel = channelParam(query);
        return tail.serve(node, req, res, channel);
      }
      default:
        throw new AdminHttpError(404, AdminErrorCode.NotFound, 'unknown admin endpoint');
    }
  };

  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== '/admin' && !path.startsWith('/admin/')) return false;
    try {
      if (!auth.enabled) {
        throw new AdminHttpError(
          404,
          AdminErrorCode.Disabled,
          'the admin console is off: set admin.password or admin.token',
        );
      }
      if (path.startsWith('/admin/api/')) {
        const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
        await api(req, res, path.slice('/admin/api/'.length), query);
        return true;
      }
      method(req, 'GET');
      const file = assets?.get(path === '/admin' || path === '/admin/' ? '/admin/index.html' : path);
      if (file === undefined) {
        throw new AdminHttpError(
          404,
          AdminErrorCode.NotFound,
          assets === undefined ? 'the admin console is not built: run npm run build' : 'not found',
        );
      }
      res.writeHead(200, {
        ...securityHeaders,
        'content-type': file.type,
        'content-length': file.body.length,
        ...(file.immutable ? { 'cache-control': 'public, max-age=31536000, immutable' } : {}),
        ...(file.type.startsWith('text/html') ? { 'content-security-policy': adminCsp } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return true;
    } catch (error) {
      if (error instanceof AdminHttpError) {
        sendError(res, error);
        return true;
      }
      throw error;
    }
  };
}

export { adminTailPath };
