import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BackendStreamLogin, createConnectHandler } from '@tidings/connect';
import type { TidingsNode } from '@tidings/server';
import type { TidingsConfig } from './config/schema.js';

/** URL path prefixes of the services `grpc` serves: `/<package>.<Service>/<Method>`. */
const servicePrefixes = [
  '/tidings.api.v1.ApiService/',
  '/grpc.reflection.v1.ServerReflection/',
  '/grpc.reflection.v1alpha.ServerReflection/',
] as const;

/**
 * The server API over Connect, gRPC-Web and gRPC (`config.grpc`), as one of the main port's
 * routes: it answers the requests whose path names one of its services and returns false for the
 * rest. It serves whatever HTTP version the listener speaks: HTTP/1.1 (Connect, gRPC-Web),
 * HTTP/2 over TLS with ALPN h2 (`http.tls`) and h2c (`http.h2c`) for gRPC as well.
 * `backendStreams` must be the login whose `wrap` is around the node's authenticator.
 */
export function createGrpcRoute(
  config: TidingsConfig,
  node: TidingsNode,
  backendStreams: BackendStreamLogin,
): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined {
  if (!config.grpc.enabled) return undefined;
  const handler = createConnectHandler(node, {
    apiKeys: [...config.api.keys],
    maxMessageBytes: config.grpc.maxMessageBytes,
    backendStreams,
    reflection: config.grpc.reflection,
  });
  return (req, res) => {
    const url = req.url ?? '/';
    if (!servicePrefixes.some((prefix) => url.startsWith(prefix))) return false;
    handler(req, res);
    return true;
  };
}
