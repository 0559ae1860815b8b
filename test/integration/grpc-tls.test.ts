// gRPC over TLS with ALPN h2 on the main port of an in-process `tidings serve` (same listener as
// the CLI), and graceful shutdown with open Subscribe streams over HTTP/1.1 and HTTP/2.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../apps/tidings/src/config/load.js';
import { type RunningServer, startServer } from '../../apps/tidings/src/serve.js';
import { ApiService, ErrorSchema } from '../../packages/connect/src/gen/tidings/api/v1/api_pb.js';
import { silentLogger } from '../../packages/server/src/observability/logger.js';
import { requireTool } from './system-tools.js';

const protoDir = fileURLToPath(new URL('../../packages/connect/proto', import.meta.url));
const apiKey = 'grpc-tls-api-key-0123456789';
let dir = '';
let certFile = '';
let keyFile = '';
const servers: RunningServer[] = [];

beforeAll(() => {
  requireTool('openssl', 'openssl');
  dir = mkdtempSync(join(tmpdir(), 'tidings-grpc-tls-'));
  certFile = join(dir, 'cert.pem');
  keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(http: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = loadConfig({
    base: {
      http: { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 30_000, ...http },
      api: { keys: [apiKey] },
      channels: {
        namespaces: {
          feed: { historySize: 100, historyTtlMs: 60_000, allowRecovery: true, allowPublishForClient: true },
        },
      },
      log: { level: 'error' },
      ...extra,
    },
  });
  const server = await startServer(config, { logger: silentLogger });
  servers.push(server);
  return server;
}

describe('gRPC over TLS (ALPN h2)', () => {
  it('@grpc/grpc-js publishes and reads history; HTTP/1.1 Connect works on the same port', async () => {
    const server = await start({ tls: { certFile, keyFile } });
    const pkg = protoLoader.loadSync(join(protoDir, 'tidings/api/v1/api.proto'), { longs: String, oneofs: true });
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
      tidings: { api: { v1: { ApiService: new (t: string, c: grpc.ChannelCredentials) => grpc.Client } } };
    };
    const client = new loaded.tidings.api.v1.ApiService(
      `localhost:${server.port}`,
      grpc.credentials.createSsl(readFileSync(certFile)),
    ) as grpc.Client & Record<string, (...args: unknown[]) => void>;
    const md = new grpc.Metadata();
    md.set('x-api-key', apiKey);
    const call = <R>(method: string, req: object): Promise<R> =>
      new Promise((resolve, reject) => {
        client[method]?.(req, md, (e: grpc.ServiceError | null, r: R) => (e === null ? resolve(r) : reject(e)));
      });
    const pub = await call<{ result: { offset: string } }>('publish', {
      channel: 'feed:tls',
      data: Buffer.from('"x"'),
    });
    expect(pub.result.offset).toBe('1');
    const history = await call<{ publications: Array<{ data: Buffer }> }>('history', {
      channel: 'feed:tls',
      limit: -1,
    });
    expect(history.publications.map((p) => p.data.toString())).toEqual(['"x"']);
    client.close();

    // Connect over HTTP/1.1 on the same TLS port (ALPN http/1.1).
    const h1 = createClient(
      ApiService,
      createConnectTransport({
        baseUrl: `https://localhost:${server.port}`,
        httpVersion: '1.1',
        nodeOptions: { ca: readFileSync(certFile) },
      }),
    );
    const again = await h1.history({ channel: 'feed:tls', limit: -1 }, { headers: { 'x-api-key': apiKey } });
    expect(again.publications).toHaveLength(1);
  });
});

describe('graceful shutdown with open Subscribe streams', () => {
  it('ends them with UNAVAILABLE (wire 3001) and closes well before the shutdown deadline', async () => {
    const server = await start({ h2c: true });
    const headers = { 'x-api-key': apiKey };
    const clients = {
      'Connect over HTTP/1.1': createClient(
        ApiService,
        createConnectTransport({ baseUrl: server.url, httpVersion: '1.1' }),
      ),
      'gRPC over h2c': createClient(ApiService, createGrpcTransport({ baseUrl: server.url })),
    };
    const streams = Object.values(clients).map((client) =>
      client.subscribe({ channels: ['feed:shutdown'] }, { headers })[Symbol.asyncIterator](),
    );
    for (const s of streams) expect((await s.next()).value?.event.case).toBe('subscribed');
    // A client that stops reading (its iterator returned) but keeps its HTTP/1.1 connection.
    const abandoned = clients['Connect over HTTP/1.1']
      .subscribe({ channels: ['feed:shutdown'] }, { headers })
      [Symbol.asyncIterator]();
    expect((await abandoned.next()).value?.event.case).toBe('subscribed');
    await abandoned.return?.();
    const closed = server.close().then(() => 'closed');
    const errors = await Promise.all(streams.map((s) => s.next().catch((e: unknown) => ConnectError.from(e))));
    for (const err of errors) {
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Unavailable);
      expect((err as ConnectError).findDetails(ErrorSchema)[0]?.code).toBe(3001);
    }
    // The deadline is 30 s: a connection left idling until it would fail this.
    const timeout = new Promise((r) => setTimeout(() => r('deadline'), 10_000));
    expect(await Promise.race([closed, timeout])).toBe('closed');
  }, 20_000);
});

describe('Subscribe and the MQTT edge', () => {
  it('a stream receives what an MQTT client publishes, byte for byte', async () => {
    const server = await start({ h2c: true }, { mqtt: { enabled: true, port: 0 } });
    const api = createClient(ApiService, createGrpcTransport({ baseUrl: server.url }));
    const abort = new AbortController();
    const stream = api
      .subscribe({ channels: ['feed:mqtt'] }, { headers: { 'x-api-key': apiKey }, signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await stream.next()).value?.event.case).toBe('subscribed');
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqtt?.port}`, {
      username: 'api-key',
      password: apiKey,
      reconnectPeriod: 0,
    });
    const payload = Buffer.from([0x00, 0xff, 0x10, 0x7b]);
    await device.publishAsync('feed/mqtt', payload, { qos: 1 });
    const got = (await stream.next()).value;
    expect(got?.channel).toBe('feed:mqtt');
    expect(got?.event.case === 'publication' && Buffer.from(got.event.value.data)).toEqual(payload);
    await device.endAsync();
    abort.abort();
  });
});
