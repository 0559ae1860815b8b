import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@tidings/server';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Header carrying the request id, taken from the request when a proxy set a sane one. */
export const requestIdHeader = 'x-request-id';

const saneId = /^[\w.:-]{1,128}$/;

/**
 * Gives every HTTP request an id (the incoming `X-Request-Id` when it looks like one, else a
 * random UUID), echoes it in the response, and logs the request at debug level when it ends
 * (finished or dropped):
 * `{ reqId, method, path, status, ms }`. The query string is never logged, as it may carry a
 * connection token (`?token=` of the one-way transports).
 */
export function withRequestLog(listener: Listener, logger: Logger): Listener {
  return (req, res) => {
    const presented = req.headers[requestIdHeader];
    const reqId = typeof presented === 'string' && saneId.test(presented) ? presented : randomUUID();
    res.setHeader(requestIdHeader, reqId);
    const started = performance.now();
    // 'close' rather than 'finish': a stream the client drops never finishes.
    res.once('close', () => {
      logger.debug(
        {
          reqId,
          method: req.method,
          path: (req.url ?? '/').split('?')[0],
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
        },
        'http request',
      );
    });
    listener(req, res);
  };
}
