// One in-process `tidings serve` for a test file: HS256 auth, one API key, one namespace clients
// may subscribe to, port 0, silent. Shared by the tests that only need "a server" to talk to.
import { signToken } from '@tidings/server';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';

/** A started server and what a client needs to use it. */
export interface TestServer {
  readonly server: RunningServer;
  readonly secret: string;
  readonly apiKey: string;
  /** `ws://127.0.0.1:<port>/connection/websocket`. */
  readonly wsUrl: string;
  /** A connection token for `sub`, valid 10 minutes. */
  token(sub?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server whose namespace `namespace` allows client subscriptions; `name` seeds the secrets. */
export async function startTestServer(name: string, namespace: string): Promise<TestServer> {
  const secret = `${name}-secret-0123456789abcdef0123456789`;
  const apiKey = `${name}-api-key-0123456789`;
  const server = await startServer(
    loadConfig({
      base: {
        http: { host: '127.0.0.1', port: 0 },
        auth: { keys: [{ alg: 'HS256', secret }] },
        api: { keys: [apiKey] },
        channels: { namespaces: { [namespace]: { allowSubscribeForClient: true } } },
        log: { level: 'error' },
      },
    }),
    { logger: silentLogger },
  );
  return {
    server,
    secret,
    apiKey,
    wsUrl: `ws://127.0.0.1:${server.port}/connection/websocket`,
    token: (sub = 'bench') => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 600 }),
    close: () => server.close(),
  };
}
