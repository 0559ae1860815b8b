import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Authenticator, type Credentials, createSseHandler, type TidingsNode } from '@tidings/server';

/** User id of the console's live-tail connections (they show in presence under it). */
export const adminTailUser = 'tidings-admin';
/** Path the live tail is served at. */
export const adminTailPath = '/admin/api/tail';

const ticketPrefix = 'tidings-admin-tail.';
const ticketTtlMs = 10_000;

/**
 * The console's live tail of a channel: an ordinary SSE stream (transport "sse", see
 * docs/transports.md for its events) whose connection is authenticated by a one-time ticket
 * the console mints after checking the admin session. The ticket's credentials carry the
 * channel as a server-side subscription, so the tail works whatever the namespace allows
 * clients (as server API subscribe does). Tickets are 32 random bytes, live 10 s, and are
 * consumed by the connect that presents them.
 */
export class AdminTail {
  readonly #tickets = new Map<string, { readonly channel: string; readonly expires: number }>();
  #sse: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;

  /** Wraps the node's authenticator so that it accepts tail tickets; other tokens go to `inner`. */
  wrap(inner: Authenticator): Authenticator {
    return {
      authenticate: async (request) => {
        const token = request.token;
        if (token?.startsWith(ticketPrefix)) {
          const ticket = this.#tickets.get(token);
          if (ticket !== undefined) {
            this.#tickets.delete(token);
            if (ticket.expires > Date.now()) {
              const credentials: Credentials = { userId: adminTailUser, anonymous: false, channels: [ticket.channel] };
              return credentials;
            }
          }
        }
        return inner.authenticate(request);
      },
      verifySubscriptionToken: (token, context) => inner.verifySubscriptionToken(token, context),
    };
  }

  /** Serves the tail of `channel` on `res` (the caller has checked the admin session). */
  serve(node: TidingsNode, req: IncomingMessage, res: ServerResponse, channel: string): void {
    this.#sse ??= createSseHandler(node, { path: adminTailPath, heartbeatIntervalMs: 15_000, retryMs: 2_000 });
    const now = Date.now();
    for (const [key, t] of this.#tickets) if (t.expires <= now) this.#tickets.delete(key);
    const ticket = `${ticketPrefix}${randomBytes(32).toString('base64url')}`;
    this.#tickets.set(ticket, { channel, expires: now + ticketTtlMs });
    // The stream reads its token from `Authorization` and its channels from the query: the
    // ticket replaces whatever the browser sent, and the channel comes from the ticket only.
    req.headers.authorization = `Bearer ${ticket}`;
    req.url = adminTailPath;
    this.#sse(req, res);
  }
}
