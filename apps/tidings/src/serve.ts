import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createBackendStreamLogin } from '@tidings/connect';
import { withApiKeyLogin } from '@tidings/mqtt';
import { createNatsEngine } from '@tidings/nats';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { createRedisEngine } from '@tidings/redis';
import {
  type Broker,
  createApiHandler,
  createEmulationEdge,
  createHttpProxyHooks,
  createHttpStreamHandler,
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  createPollHandler,
  createSseHandler,
  createWebSocketEdge,
  type HistoryStore,
  type Logger,
  MetricsRecorder,
  type PresenceStore,
  type SharedRateCounter,
  type StateStore,
  type TidingsNode,
} from '@tidings/server';
import { AdminAuth } from './admin/admin-auth.js';
import { createAdminRoutes } from './admin/admin-routes.js';
import { AdminSampler } from './admin/admin-sampler.js';
import { loadAdminAssets } from './admin/admin-static.js';
import { AdminTail } from './admin/admin-tail.js';
import type { Canary } from './canary/canary.js';
import { createCanaryIdentity, startCanary } from './canary/start-canary.js';
import { workerSlotEnv } from './cluster/messages.js';
import type { TidingsConfig } from './config/schema.js';
import {
  toAuthenticatorOptions,
  toChannelsOptions,
  toClientOptions,
  toProxyOptions,
  toRedisEngineOptions,
} from './config/to-library.js';
import { renderDashboard } from './dashboard.js';
import { liveTickerRoute, startTickerFeed } from './examples/live-ticker.js';
import { createGrpcRoute } from './grpc-mount.js';
import { createHttpListener } from './http-listener.js';
import { createRoutes } from './http-routes.js';
import { planIngest, type RunningIngest, startIngest } from './ingest.js';
import { createLogger } from './logger.js';
import { startMetrics } from './metrics/start-metrics.js';
import { type MqttListener, startMqttListener } from './mqtt-listener.js';
import { openApiPages } from './openapi/pages.js';
import { withRequestLog } from './request-log.js';
import { createTracing } from './tracing/otel-tracing.js';
import { packageVersion } from './version.js';

/** Options of `startServer`. */
export interface StartServerOptions {
  /** Defaults to a pino logger built from `config.log`. */
  readonly logger?: Logger;
  /** Which profile produced the config; the dashboard page adapts to it. Default "file". */
  readonly profile?: 'development' | 'file';
  /** A connection token injected into the dashboard page (development profile only). */
  readonly dashboardToken?: string;
  /** Channel the dashboard opens first. */
  readonly dashboardChannel?: string;
  /**
   * The engine to use instead of the one `config.engine` describes (a worker of `--workers`
   * passes its IPC engine to the primary's memory engine). The server closes it on shutdown.
   */
  readonly engine?: Engine;
  /** Node name in logs and `/api/info`; default a random id. */
  readonly nodeName?: string;
  /** What `/metrics` answers instead of this process's registry (a `--workers` worker asks the primary). */
  readonly metricsScrape?: () => Promise<string>;
  /** The canary secret shared by the workers of `--workers`; default a fresh one. */
  readonly canarySecret?: string;
  /** Environment for the standard `OTEL_*` tracing variables; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A running server. */
export interface RunningServer {
  /** Base URL to reach it from this machine, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  /** The bound port (useful with `http.port: 0`). */
  readonly port: number;
  readonly node: TidingsNode;
  /** The MQTT edge (`mqtt.enabled`), with its bound ports. */
  readonly mqtt?: MqttListener;
  /** URL of the own metrics listener (`metrics.port`), else undefined. */
  readonly metricsUrl: string | undefined;
  /** This process's metrics as prom-client JSON (for aggregation), undefined when metrics are off. */
  readonly metricsJson: (() => Promise<object[]>) | undefined;
  /**
   * Graceful stop: stop accepting, disconnect every client with 3001 (shutdown), let in-flight
   * requests finish, then drop what is left when `http.shutdownTimeoutMs` runs out. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Re-reads the TLS certificates and keys (`http.tls`, `mqtt.tls`) for new connections without
   * dropping open ones; `tidings serve` calls it on SIGHUP. A no-op without TLS.
   * @throws TidingsError `TIDINGS_ERR_CONFIG` when the files cannot be read or do not match.
   */
  reloadTls(): void;
}

/** What a node runs on; `rateCounter` (Redis) makes per-user, per-IP and per-key limits cluster-wide. */
interface Engine {
  readonly broker: Broker;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  readonly rateCounter?: SharedRateCounter;
  /** Latest documents of state channels; the memory and Redis engines have one. */
  readonly state?: StateStore;
}

function createEngine(config: TidingsConfig): Engine {
  const engine = config.engine;
  switch (engine.type) {
    case 'memory':
      return createMemoryEngine({
        idempotencyWindowMs: config.idempotencyWindowMs,
        idempotencyLimits: { maxKeys: config.idempotencyMaxKeys, maxBytes: config.idempotencyMaxBytes },
      });
    case 'redis':
      return createRedisEngine(toRedisEngineOptions(engine, config.idempotencyWindowMs));
    case 'nats':
      return createNatsEngine({
        servers: engine.servers,
        streamName: engine.streamName,
        subjectPrefix: engine.subjectPrefix,
        maxMessagesPerChannel: engine.maxMessagesPerChannel,
        connectTimeoutMs: engine.connectTimeoutMs,
        requestTimeoutMs: engine.requestTimeoutMs,
        idempotencyWindowMs: config.idempotencyWindowMs,
      });
  }
}

function listenError(error: NodeJS.ErrnoException, config: TidingsConfig): TidingsError {
  const { host, port } = config.http;
  const reasons: Record<string, string> = {
    EADDRINUSE: `port ${port} is in use; pass --port or set TIDINGS_HTTP_PORT`,
    EACCES: `no permission to bind port ${port}; use a port above 1023 or grant the capability`,
    EADDRNOTAVAIL: `address ${host} is not available on this machine; pass --host or set TIDINGS_HTTP_HOST`,
  };
  const reason = reasons[error.code ?? ''] ?? `cannot listen on ${host}:${port}: ${error.message}`;
  return new TidingsError(TidingsErrorCode.Config, reason, { cause: error });
}

function urlOf(scheme: string, host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Wires the configured engine, authenticator, node, WebSocket edge, server API and dashboard
 * into one HTTP server and starts listening.
 *
 * @throws TidingsError `TIDINGS_ERR_CONFIG` for a config the library rejects or an address that
 *   cannot be bound (port in use, no permission); nothing is left running then.
 */
export async function startServer(config: TidingsConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const { headersTimeoutMs, requestTimeoutMs } = config.http;
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new TidingsError(TidingsErrorCode.Config, 'http.headersTimeoutMs: must not exceed http.requestTimeoutMs');
  }
  const logger = options.logger ?? createLogger(config.log);
  const engine: Engine = options.engine ?? createEngine(config);
  const proxy = toProxyOptions(config.proxy);
  const adminAuth = new AdminAuth({
    password: config.admin.password,
    token: config.admin.token,
    sessionTtlMs: config.admin.sessionTtlMs,
  });
  const adminTail = new AdminTail();
  // The console charts this node's figures, so it measures when either it or /metrics is on.
  const recorder = config.metrics.enabled || adminAuth.enabled ? new MetricsRecorder() : undefined;
  const canaryIdentity = createCanaryIdentity(config.canary, options.canarySecret);
  const tracing = createTracing({
    config: config.tracing,
    env: options.env ?? process.env,
    version: packageVersion(),
    ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }),
    logger,
  });
  const proxyHooks =
    proxy === undefined
      ? undefined
      : createHttpProxyHooks({ ...proxy, logger, ...(tracing === undefined ? {} : { fetch: tracing.fetch }) });
  const jwt = config.mqtt.enabled
    ? withApiKeyLogin(createJwtAuthenticator(toAuthenticatorOptions(config)), config.api.keys)
    : createJwtAuthenticator(toAuthenticatorOptions(config));
  // gRPC `Subscribe` streams log in as trusted backends (they showed an API key); see grpc-mount.ts.
  const backendStreams = createBackendStreamLogin();
  const node = createNode({
    ...(proxyHooks === undefined
      ? {}
      : { hooks: canaryIdentity === undefined ? proxyHooks : canaryIdentity.login.wrapHooks(proxyHooks) }),
    ...engine,
    ...(recorder === undefined ? {} : { metrics: recorder }),
    ...(tracing === undefined ? {} : { tracing: tracing.hooks }),
    ...(options.nodeName === undefined ? {} : { name: options.nodeName }),
    // MQTT clients may log in with an API key (user name `api-key`); see docs/mqtt.md. The canary's
    // own clients log in with its per-process token. The admin console's live tail authenticates
    // with one-time tickets (see admin/admin-tail.ts); gRPC Subscribe streams as backends.
    authenticator: (() => {
      const withCanary = canaryIdentity === undefined ? jwt : canaryIdentity.login.wrapAuthenticator(jwt);
      return backendStreams.wrap(adminAuth.enabled ? adminTail.wrap(withCanary) : withCanary);
    })(),
    channels: toChannelsOptions(config.channels),
    client: toClientOptions(config.client),
    logger,
    version: packageVersion(),
    idempotencyWindowMs: config.idempotencyWindowMs,
  });
  // Checks the channel templates before anything starts; the sources start once the node listens.
  const ingestPlan = planIngest(config, node, logger);
  await node.start();
  if (config.auth.keys.length === 0 && !config.client.allowAnonymous && config.proxy.connect === undefined) {
    logger.warn(
      {},
      'no auth.keys, no proxy.connect and client.allowAnonymous is off: every client connection will be refused',
    );
  }
  if (config.api.keys.length === 0) logger.warn({}, 'api.keys is empty: the server API (/api/*) answers 401');

  const edge = createWebSocketEdge(node, {
    path: config.websocket.path,
    allowedOrigins: config.websocket.allowedOrigins,
    maxFrameBytes: config.websocket.maxFrameBytes,
    compression: config.websocket.compression,
  });
  let metrics: Awaited<ReturnType<typeof startMetrics>>;
  try {
    metrics = await startMetrics(
      config.metrics,
      node,
      config.metrics.enabled ? recorder : undefined,
      options.metricsScrape,
    );
  } catch (error) {
    await edge.close();
    await node.shutdown();
    await tracing?.shutdown();
    throw error;
  }
  const api =
    config.api.keys.length === 0
      ? undefined
      : metrics.countApi(
          ((handler) => (tracing === undefined ? handler : tracing.traceApi(handler)))(
            createApiHandler(node, {
              apiKeys: [...config.api.keys],
              maxBodyBytes: config.api.maxBodyBytes,
              logger,
              requestRatePerKey: config.api.requestRatePerKey,
              stateMaxAgeSec: config.api.stateMaxAgeSec,
              ...(engine.rateCounter === undefined ? {} : { rateCounter: engine.rateCounter }),
            }),
          ),
        );
  const dashboardHtml = renderDashboard({
    websocketPath: config.websocket.path,
    profile: options.profile ?? 'file',
    ...(options.dashboardToken === undefined ? {} : { token: options.dashboardToken }),
    ...(options.dashboardChannel === undefined ? {} : { channel: options.dashboardChannel }),
  });
  if (dashboardHtml === undefined) logger.warn({}, 'dashboard page not found; GET / answers 404');
  const sampler = adminAuth.enabled && recorder !== undefined ? new AdminSampler(node, recorder) : undefined;
  const adminAssets = adminAuth.enabled ? loadAdminAssets() : undefined;
  if (adminAuth.enabled && adminAssets === undefined) {
    logger.warn({}, 'admin console not built (apps/dashboard/dist/admin); run npm run build. /admin answers 404');
  }
  const admin = createAdminRoutes({
    node,
    auth: adminAuth,
    sampler,
    tail: adminTail,
    assets: adminAssets,
    logger,
    engine: config.engine.type,
    secureCookie: config.http.tls !== undefined,
  });

  const grpcRoute = createGrpcRoute(config, node, backendStreams);
  const grpc = grpcRoute === undefined || tracing === undefined ? grpcRoute : tracing.traceRpc(grpcRoute);
  // The development profile also serves examples/live-ticker with a demo price feed; with
  // `--workers`, only the first worker runs the feed (one publisher, as a backend would be).
  const development = options.profile === 'development';
  const ticker = development ? liveTickerRoute(logger) : undefined;
  const stopTickerFeed =
    development && (process.env[workerSlotEnv] ?? '0') === '0' ? startTickerFeed(node, logger) : undefined;
  const streams = [
    ...(ticker === undefined ? [] : [ticker]),
    // The Connect / gRPC / gRPC-Web server API: only paths `/<package>.<Service>/<Method>`.
    ...(grpc === undefined ? [] : [grpc]),
    // First: it claims the SDK's `GET <ssePath>?cf_connect=` before the one-way SSE endpoint sees it.
    ...(config.emulation.enabled
      ? [
          createEmulationEdge(node, {
            httpStreamPath: config.emulation.httpStreamPath,
            ssePath: config.emulation.ssePath,
            emulationPath: config.emulation.path,
            maxBodyBytes: config.emulation.maxBodyBytes,
            allowedOrigins: config.websocket.allowedOrigins,
          }),
        ]
      : []),
    ...(config.sse.enabled
      ? [
          createSseHandler(node, {
            path: config.sse.path,
            heartbeatIntervalMs: config.sse.heartbeatIntervalMs,
            retryMs: config.sse.retryMs,
            allowedOrigins: config.websocket.allowedOrigins,
            compression: config.http.compression,
          }),
        ]
      : []),
    ...(config.httpStream.enabled
      ? [
          createHttpStreamHandler(node, {
            path: config.httpStream.path,
            heartbeatIntervalMs: config.httpStream.heartbeatIntervalMs,
            allowedOrigins: config.websocket.allowedOrigins,
            compression: config.http.compression,
          }),
        ]
      : []),
    ...(config.poll.enabled
      ? [
          createPollHandler(node, {
            path: config.poll.path,
            timeoutMs: config.poll.timeoutMs,
            minIntervalMs: config.poll.minIntervalMs,
            maxIntervalMs: config.poll.maxIntervalMs,
            maxPublications: config.poll.maxPublications,
            allowedOrigins: config.websocket.allowedOrigins,
          }),
        ]
      : []),
  ];

  let mqtt: MqttListener | undefined;
  let listener: ReturnType<typeof createHttpListener>;
  try {
    if (config.mqtt.enabled) mqtt = await startMqttListener(config, node, logger, options.profile ?? 'file');
    listener = createHttpListener(
      config,
      withRequestLog(
        createRoutes({
          node,
          api,
          streams,
          dashboardHtml,
          logger,
          engine: config.engine.type,
          openApi: openApiPages(config),
          admin,
          ...metrics.mainRoute,
        }),
        logger,
      ),
    );
  } catch (error) {
    await mqtt?.close();
    await metrics.close();
    await edge.close();
    await node.shutdown();
    await tracing?.shutdown();
    throw error;
  }
  const server = listener.server;
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!edge.handleUpgrade(req, socket, head) && !mqtt?.handleUpgrade(req, socket, head)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: config.http.port, host: config.http.host, backlog: config.http.backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await mqtt?.close();
    await metrics.close();
    await edge.close();
    await node.shutdown();
    await tracing?.shutdown();
    throw listenError(error as NodeJS.ErrnoException, config);
  }
  server.on('error', (error) => logger.error({ err: error }, 'http server error'));
  sampler?.start();
  const ingest: RunningIngest | undefined =
    ingestPlan.length === 0 ? undefined : startIngest(ingestPlan, config.ingest.retryDelayMs, logger);

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.http.port;
  const url = urlOf(listener.scheme, config.http.host, port);
  let canary: Canary | undefined;
  if (canaryIdentity !== undefined) {
    canary = await startCanary({
      config,
      identity: canaryIdentity,
      node,
      url,
      registry: metrics.prometheus?.registry,
      logger,
    });
  }
  let closing: Promise<void> | undefined;

  const close = async (): Promise<void> => {
    const deadline = Date.now() + config.http.shutdownTimeoutMs;
    canary?.stop();
    sampler?.stop();
    stopTickerFeed?.();
    const serverClosed = listener.close();
    listener.closeIdle();
    // Sources stop before the node: a message in delivery is stored and acked, or left unacked.
    await ingest?.close();
    await mqtt?.close();
    await edge.close();
    await node.shutdown();
    await tracing?.shutdown();
    await metrics.close();
    // Connections with no request in flight (idle keep-alive, or connected and silent) go now;
    // WebSockets close themselves after the 3001 close handshake, h2 sessions after GOAWAY.
    listener.closeIdle();
    // In-flight requests may finish until the deadline; then whatever is left is dropped.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now() - 250));
    });
    await Promise.race([serverClosed, timeout]);
    clearTimeout(timer);
    listener.closeAll();
    await serverClosed;
  };

  return {
    url,
    port,
    node,
    ...(mqtt === undefined ? {} : { mqtt }),
    metricsUrl: metrics.url,
    metricsJson: metrics.prometheus === undefined ? undefined : metrics.prometheus.json,
    close() {
      closing ??= close();
      return closing;
    },
    reloadTls: () => {
      // Both listeners get their new pair even when the other's is bad; the first error is thrown.
      let failure: unknown;
      for (const reload of [() => listener.reloadTls(), () => mqtt?.reloadTls()]) {
        try {
          reload();
        } catch (error) {
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
    },
  };
}
