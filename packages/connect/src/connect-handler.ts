import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ErrorCode } from '@tidings/protocol';
import type { ApiNode } from '@tidings/server';
import { ApiCallError, createApiService } from './api-service.js';
import { ApiService, ErrorSchema } from './gen/tidings/api/v1/api_pb.js';

/** Options of `createConnectHandler`. */
export interface ConnectHandlerOptions {
  /** Accepted API keys, sent as `x-api-key: KEY` or `authorization: apikey KEY`. */
  readonly apiKeys: readonly string[];
  /** Largest request message accepted, in bytes (default 1 MiB). */
  readonly maxMessageBytes?: number;
}

/** A Node.js request handler; calls `next` for paths that are not `/tidings.api.v1.ApiService/*`. */
export type ConnectRequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  next?: () => void,
) => void;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The API key the request metadata carries, if any. */
export function apiKeyOf(headers: Headers): string | undefined {
  const direct = headers.get('x-api-key');
  if (direct !== null && direct !== '') return direct;
  const auth = headers.get('authorization');
  const match = auth === null ? null : /^apikey\s+(\S+)$/i.exec(auth);
  return match?.[1];
}

function authInterceptor(keys: readonly string[]): Interceptor {
  const digests = keys.map(digest);
  return (next) => async (req) => {
    const key = apiKeyOf(req.header);
    const given = key === undefined ? undefined : digest(key);
    if (given === undefined || !digests.some((d) => timingSafeEqual(d, given))) {
      throw withCode(Code.Unauthenticated, ErrorCode.Unauthorized, 'missing or wrong API key');
    }
    return next(req);
  };
}

function withCode(code: Code, wireCode: number, message: string): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorSchema, value: create(ErrorSchema, { code: wireCode, message }) },
  ]);
}

const statusOf: Readonly<Record<ApiCallError['kind'], Code>> = {
  invalid: Code.InvalidArgument,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};

/** Maps `ApiCallError` to its gRPC status with the stable wire code as a `tidings.api.v1.Error` detail. */
function errorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ApiCallError) throw withCode(statusOf[error.kind], error.code, error.message);
      throw error;
    }
  };
}

/**
 * The server API as `tidings.api.v1.ApiService`, over the Connect protocol, gRPC and gRPC-Web
 * (HTTP/1.1 for Connect and gRPC-Web; gRPC needs HTTP/2). Deadlines (`grpc-timeout`,
 * `connect-timeout-ms`) are honoured by connect-node, which aborts the call's signal.
 */
export function createConnectHandler(node: ApiNode, options: ConnectHandlerOptions): ConnectRequestHandler {
  const impl = createApiService(node);
  const routes = (router: ConnectRouter): void => {
    router.service(ApiService, {
      publish: impl.publish,
      broadcast: impl.broadcast,
      history: impl.history,
      historyRemove: impl.historyRemove,
      presence: impl.presence,
      presenceStats: impl.presenceStats,
      channels: impl.channels,
      info: impl.info,
      disconnect: impl.disconnect,
      unsubscribe: impl.unsubscribe,
      subscribeUser: impl.subscribeUser,
    });
  };
  return connectNodeAdapter({
    routes,
    interceptors: [authInterceptor(options.apiKeys), errorInterceptor()],
    readMaxBytes: options.maxMessageBytes ?? 1024 * 1024,
    fallback: (_req, res) => {
      res.statusCode = 404;
      res.end();
    },
  }) as ConnectRequestHandler;
}
