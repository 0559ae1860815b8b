import { createServer, type Server } from 'node:http';
import { createServer as createH2Server, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { createJwtAuthenticator, createMemoryEngine, createNode } from '@tidings/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectHandler } from './connect-handler.js';
import { ApiService, ErrorSchema } from './gen/tidings/api/v1/api_pb.js';

const apiKey = 'connect-test-key-abcdefgh';
const engine = createMemoryEngine();
const node = createNode({
  broker: engine.broker,
  history: engine.history,
  presence: engine.presence,
  authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
  channels: { namespaces: { chat: { historySize: 100, historyTtlMs: 60_000, presence: true } } },
});
const handler = createConnectHandler(node, { apiKeys: [apiKey], maxMessageBytes: 64 * 1024 });
const h1: Server = createServer(handler);
const h2: Http2Server = createH2Server(handler);
const sessions = new Set<ServerHttp2Session>();
h2.on('session', (s) => {
  sessions.add(s);
  s.on('close', () => sessions.delete(s));
});
let h1Url = '';
let h2Url = '';

beforeAll(async () => {
  await node.start();
  await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  h1Url = `http://127.0.0.1:${(h1.address() as AddressInfo).port}`;
  h2Url = `http://127.0.0.1:${(h2.address() as AddressInfo).port}`;
});
afterAll(async () => {
  h1.closeAllConnections();
  await new Promise<void>((r) => h1.close(() => r()));
  for (const s of sessions) s.destroy();
  await new Promise<void>((r) => h2.close(() => r()));
  await node.shutdown();
});

const auth = { 'x-api-key': apiKey };
const transports: Record<string, () => Transport> = {
  'Connect over HTTP/1.1': () => createConnectTransport({ baseUrl: h1Url, httpVersion: '1.1' }),
  'gRPC-Web over HTTP/1.1': () => createGrpcWebTransport({ baseUrl: h1Url, httpVersion: '1.1' }),
  'gRPC over h2c': () => createGrpcTransport({ baseUrl: h2Url }),
};

describe.each(Object.entries(transports))('%s', (name, transport) => {
  const channel = `chat:${name.replace(/\W/g, '')}`;

  it('publishes and reads history with an API key', async () => {
    const client = createClient(ApiService, transport());
    const data = new TextEncoder().encode('{"hello":1}');
    const pub = await client.publish({ channel, data }, { headers: auth });
    expect(pub.error).toBeUndefined();
    const history = await client.history({ channel, limit: -1 }, { headers: { authorization: `apikey ${apiKey}` } });
    expect(history.publications.at(-1)?.data).toEqual(data);
    expect(history.publications.at(-1)?.offset).toBe(pub.result?.offset);
  });

  it('refuses a missing or wrong API key with UNAUTHENTICATED and wire code 101', async () => {
    const client = createClient(ApiService, transport());
    for (const headers of [{}, { 'x-api-key': 'wrong' }]) {
      const err = ConnectError.from(await client.info({}, { headers }).catch((e: unknown) => e));
      expect(err.code).toBe(Code.Unauthenticated);
      expect(err.findDetails(ErrorSchema)[0]?.code).toBe(101);
    }
  });

  it('maps bad input to INVALID_ARGUMENT with wire code 107, oversize to RESOURCE_EXHAUSTED, and stays healthy', async () => {
    const client = createClient(ApiService, transport());
    const bad = ConnectError.from(
      await client.subscribeUser({ user: '', channel }, { headers: auth }).catch((e: unknown) => e),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.findDetails(ErrorSchema)[0]?.code).toBe(107);
    // Not over gRPC-Web on HTTP/1.1: connect-node answers before reading the oversize body and
    // the client then fails with a connection reset outside the call (see docs/grpc.md).
    if (!name.startsWith('gRPC-Web')) {
      const big = await client
        .publish({ channel, data: new Uint8Array(128 * 1024) }, { headers: auth })
        .catch((e: unknown) => e);
      expect(ConnectError.from(big).code).toBe(Code.ResourceExhausted);
    }
    const info = await client.info({}, { headers: auth });
    expect(info.nodes).toHaveLength(1);
  });

  it('answers Subscribe with UNIMPLEMENTED when no backend stream login is configured', async () => {
    const client = createClient(ApiService, transport());
    const stream = client.subscribe({ channels: [channel] }, { headers: auth });
    const err = ConnectError.from(
      await stream[Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.Unimplemented);
  });
});
