import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { ErrorCode } from '@tidings/protocol';
import type { ApiNode } from '@tidings/server';
import { ApiCallError, createApiService } from './api-service.js';
import { BackendStreamError, type BackendStreamLogin, backendStream, type StreamNode } from './backend-stream.js';
import { ApiService, ErrorSchema, file_tidings_api_v1_api } from './gen/tidings/api/v1/api_pb.js';
import { reflectionRoutes } from './reflection.js';

/** Options of `createConnectHandler`. */
export interface ConnectHandlerOptions {
  /** Accepted API keys, sent as `x-api-key: KEY` or `authorization: apikey KEY`. */
  readonly apiKeys: readonly string[];
  /** Largest request message accepted, in bytes (default 1 MiB). */
  readonly maxMessageBytes?: number;
  /**
   * Enables `Subscribe`: the login its sessions use, whose `wrap` must be around the node's
   * authenticator. Without it `Subscribe` answers UNIMPLEMENTED.
   */
  readonly backendStreams?: BackendStreamLogin;
  /** Serve gRPC server reflection (v1 and v1alpha) for `tidings.api.v1`; same API key. Default false. */
  readonly reflection?: boolean;
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

/** The status a failed `Subscribe` ends with: UNAVAILABLE when the client should resume. */
function streamStatus(error: BackendStreamError): Code {
  if (error.temporary) return Code.Unavailable;
  if (error.kind === 'closed') return Code.Aborted;
  if (error.code === ErrorCode.Unauthorized) return Code.Unauthenticated;
  if (error.code === ErrorCode.PermissionDenied) return Code.PermissionDenied;
  return Code.InvalidArgument;
}

/** `ApiCallError` and `BackendStreamError` as a ConnectError with the wire code in a detail; others unchanged. */
function mapped(error: unknown): unknown {
  if (error instanceof ApiCallError) return withCode(statusOf[error.kind], error.code, error.message);
  if (error instanceof BackendStreamError) return withCode(streamStatus(error), error.code, error.message);
  return error;
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    throw mapped(error);
  }
}

/**
 * Maps `ApiCallError` (and, for `Subscribe`, `BackendStreamError`, raised while the response
 * streams) to its gRPC status with the stable wire code as a `tidings.api.v1.Error` detail.
 */
function errorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapStreamErrors(res.message) } : res;
    } catch (error) {
      throw mapped(error);
    }
  };
}

/**
 * The server API as `tidings.api.v1.ApiService`, over the Connect protocol, gRPC and gRPC-Web
 * (HTTP/1.1 for Connect and gRPC-Web; gRPC needs HTTP/2). Deadlines (`grpc-timeout`,
 * `connect-timeout-ms`) are honoured by connect-node, which aborts the call's signal.
 */
export function createConnectHandler(
  node: ApiNode & StreamNode,
  options: ConnectHandlerOptions,
): ConnectRequestHandler {
  const impl = createApiService(node);
  const streams = options.backendStreams;
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
      batch: impl.batch,
      ...(streams === undefined ? {} : { subscribe: (req, ctx) => backendStream(node, streams, req, ctx.signal) }),
    });
    if (options.reflection === true) reflectionRoutes([file_tidings_api_v1_api])(router);
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
