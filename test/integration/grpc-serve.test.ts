// The Connect / gRPC / gRPC-Web server API of a spawned `tidings serve` (apps/tidings/bin after
// `npm run build`), with real clients: @grpc/grpc-js (on the .proto with @grpc/proto-loader, and
// on descriptors fetched through server reflection), Connect-ES's Connect and gRPC-Web clients
// over HTTP/1.1. The port serves HTTP/1.1 and h2c together (`http.h2c`).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { signToken } from '@tidings/server';
import { createLedger, formatLedgerReport } from '@tidings/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiService } from '../../packages/connect/src/gen/tidings/api/v1/api_pb.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');
const protoDir = join(root, 'packages/connect/proto');
const apiKey = 'grpc-serve-api-key-0123456789';
const secret = 'grpc-serve-secret-0123456789abcdef0123';
const dir = mkdtempSync(join(tmpdir(), 'tidings-grpc-'));
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIDINGS_')));

let proc: ChildProcess | undefined;
let url = '';
let target = '';

beforeAll(async () => {
  const feed = {
    historySize: 1000,
    historyTtlMs: 300_000,
    allowRecovery: true,
    allowSubscribeForClient: true,
    allowPublishForClient: true,
  };
  const config = join(dir, 'tidings.json');
  writeFileSync(
    config,
    JSON.stringify({
      http: { host: '127.0.0.1', h2c: true },
      auth: { keys: [{ alg: 'HS256', secret }] },
      api: { keys: [apiKey] },
      channels: { namespaces: { feed, short: { ...feed, historySize: 2 } } },
    }),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--config', config], {
    env: { ...baseEnv, TIDINGS_LOG_PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in 15 s: ${out}`)), 15_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'listening' && entry.url !== undefined) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  target = url.replace(/^http:\/\//, '');
}, 30_000);

afterAll(async () => {
  if (proc !== undefined && proc.exitCode === null) {
    const exited = new Promise((r) => proc?.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

// ---- @grpc/grpc-js on the .proto ----

type Unary = (
  req: object,
  md: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: never) => void,
) => void;
interface GrpcApi extends grpc.Client {
  [method: string]: unknown;
}

const definition = protoLoader.loadSync(join(protoDir, 'tidings/api/v1/api.proto'), {
  includeDirs: [protoDir],
  longs: String,
  defaults: true,
  oneofs: true,
});

function grpcClient(pkg: protoLoader.PackageDefinition = definition): GrpcApi {
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    tidings: { api: { v1: { ApiService: new (t: string, c: grpc.ChannelCredentials) => GrpcApi } } };
  };
  return new loaded.tidings.api.v1.ApiService(target, grpc.credentials.createInsecure());
}

const metadata = (key = apiKey): grpc.Metadata => {
  const md = new grpc.Metadata();
  md.set('x-api-key', key);
  return md;
};

function call<R>(client: GrpcApi, method: string, req: object, options: grpc.CallOptions = {}): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    (client[method] as Unary).call(client, req, metadata(), options, (error, res) => {
      if (error !== null) reject(error);
      else resolve(res as R);
    });
  });
}

interface GrpcStreamMessage {
  channel: string;
  event: 'publication' | 'discontinuity' | 'subscribed';
  publication?: { data: Buffer; offset: string };
  subscribed?: { offset: string; epoch: string };
  discontinuity?: { requested: { offset: string; epoch: string }; current: { offset: string; epoch: string } };
}

/** A grpc-js Subscribe stream read message by message. */
function grpcSubscribe(client: GrpcApi, req: object, options: grpc.CallOptions = {}) {
  const stream = (
    client.subscribe as (
      r: object,
      md: grpc.Metadata,
      o: grpc.CallOptions,
    ) => grpc.ClientReadableStream<GrpcStreamMessage>
  ).call(client, req, metadata(), options);
  const queue: GrpcStreamMessage[] = [];
  let failure: grpc.ServiceError | undefined;
  let wake: (() => void) | undefined;
  stream.on('data', (m: GrpcStreamMessage) => {
    queue.push(m);
    wake?.();
  });
  stream.on('error', (e: grpc.ServiceError) => {
    failure = e;
    wake?.();
  });
  return {
    async take(n: number): Promise<GrpcStreamMessage[]> {
      const out: GrpcStreamMessage[] = [];
      while (out.length < n) {
        const next = queue.shift();
        if (next !== undefined) {
          out.push(next);
          continue;
        }
        if (failure !== undefined) throw failure;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      return out;
    },
    async failure(): Promise<grpc.ServiceError> {
      while (failure === undefined) {
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      return failure;
    },
    cancel: () => stream.cancel(),
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function httpPublish(channel: string, data: unknown): Promise<{ offset: number; epoch: string }> {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { offset: number; epoch: string } }).result;
}

describe('@grpc/grpc-js over h2c, on the .proto', () => {
  it('publishes, batches and reads history', async () => {
    const client = grpcClient();
    const pub = await call<{ result: { offset: string; epoch: string } }>(client, 'publish', {
      channel: 'feed:grpcjs',
      data: Buffer.from('{"n":1}'),
    });
    expect(pub.result.offset).toBe('1');
    const batch = await call<{
      replies: Array<{ result: string; publish?: { offset: string }; error?: { code: number } }>;
    }>(client, 'batch', {
      commands: [
        { publish: { channel: 'feed:grpcjs', data: Buffer.from('{"n":2}') } },
        { publish: { channel: 'nowhere:x', data: Buffer.from('1') } },
        { history: { channel: 'feed:grpcjs', limit: -1 } },
      ],
    });
    expect(batch.replies.map((r) => r.result ?? 'error')).toEqual(
      ['publish', undefined, 'history'].map((x) => x ?? 'error'),
    );
    expect(batch.replies[0]?.publish?.offset).toBe('2');
    expect(batch.replies[1]?.error?.code).toBe(102);
    const history = await call<{ publications: Array<{ data: Buffer; offset: string }> }>(client, 'history', {
      channel: 'feed:grpcjs',
      limit: -1,
    });
    expect(history.publications.map((p) => dec.decode(p.data))).toEqual(['{"n":1}', '{"n":2}']);
    client.close();
  });

  it('refuses a wrong API key with UNAUTHENTICATED, an exceeded deadline with DEADLINE_EXCEEDED', async () => {
    const client = grpcClient();
    const wrong = await new Promise<grpc.ServiceError>((resolve) => {
      (client.info as Unary).call(client, {}, metadata('wrong-key-0123456789'), {}, (e) =>
        resolve(e as grpc.ServiceError),
      );
    });
    expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED);
    const s = grpcSubscribe(client, { channels: ['feed:deadline'] }, { deadline: Date.now() + 500 });
    expect((await s.take(1))[0]?.event).toBe('subscribed');
    expect((await s.failure()).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // The node still answers.
    expect((await call<{ nodes: unknown[] }>(client, 'info', {})).nodes).toHaveLength(1);
    client.close();
  });

  it('Subscribe receives publications from the HTTP API and a WebSocket client, and resumes after a cut with 0 lost, 0 duplicated', async () => {
    const channel = 'feed:ledger';
    const ledger = createLedger();
    const client = grpcClient();
    let s = grpcSubscribe(client, { channels: [channel] });
    const [first] = await s.take(1);
    const epoch = first?.subscribed?.epoch ?? '';
    ledger.subscribed('grpc', channel);
    let last = first?.subscribed?.offset ?? '0';
    const receive = async (n: number): Promise<void> => {
      for (const m of await s.take(n)) {
        if (m.event === 'publication' && m.publication !== undefined) {
          const id = (JSON.parse(dec.decode(m.publication.data)) as { id: string }).id;
          ledger.received('grpc', channel, { offset: Number(m.publication.offset), epoch, id });
          last = m.publication.offset;
        } else if (m.event === 'discontinuity') {
          ledger.discontinuity('grpc', channel, { reason: 'discontinuity' });
        }
      }
    };
    const publishHttp = async (id: string): Promise<void> => {
      const ack = await httpPublish(channel, { id });
      ledger.acked(channel, { ...ack, id });
    };

    // A WebSocket client (Centrifuge protocol, JSON) publishing into the same channel.
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/connection/websocket`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const replies = new Map<number, (reply: Record<string, unknown>) => void>();
    ws.on('message', (raw) => {
      for (const line of raw.toString().split('\n')) {
        const reply = JSON.parse(line) as { id?: number };
        if (reply.id !== undefined) replies.get(reply.id)?.(reply);
      }
    });
    let nextId = 1;
    const wsCommand = (command: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const id = nextId++;
        replies.set(id, resolve);
        ws.send(JSON.stringify({ id, ...command }));
      });
    const token = await signToken({ sub: 'writer' }, { alg: 'HS256', secret }, { expiresInSec: 600 });
    expect((await wsCommand({ connect: { token } })).connect).toBeDefined();
    const wsIds: string[] = [];
    const publishWs = async (id: string): Promise<void> => {
      const reply = await wsCommand({ publish: { channel, data: { id } } });
      expect(reply.error).toBeUndefined();
      wsIds.push(id);
    };

    for (let i = 0; i < 5; i++) await publishHttp(`h${i}`);
    await publishWs('w0');
    await receive(6);
    // Cut the stream; publish while it is away; resume from the last position received.
    s.cancel();
    for (let i = 5; i < 12; i++) await publishHttp(`h${i}`);
    await publishWs('w1');
    s = grpcSubscribe(client, { channels: [channel], positions: { [channel]: { offset: last, epoch } } });
    await receive(8 + 1);
    for (let i = 12; i < 15; i++) await publishHttp(`h${i}`);
    await receive(3);
    s.cancel();
    ws.close();
    client.close();

    // WebSocket publishes are not acknowledged with a position: take theirs from history.
    const history = await fetch(`${url}/api/history`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, limit: -1 }),
    });
    const body = (await history.json()) as {
      result: { publications: Array<{ offset: number; data: { id: string } }> };
    };
    for (const p of body.result.publications) {
      if (wsIds.includes(p.data.id)) ledger.acked(channel, { offset: p.offset, epoch, id: p.data.id });
    }
    const report = ledger.check({ expectAll: true });
    expect(report.acked).toBe(17);
    expect(report.ok, formatLedgerReport(report)).toBe(true);
    expect(report.lost + report.duplicated + report.excused).toBe(0);
  });

  it('Subscribe from a position history no longer covers gets Discontinuity', async () => {
    const channel = 'short:gone';
    const first = await httpPublish(channel, { n: 1 });
    for (let i = 0; i < 4; i++) await httpPublish(channel, { n: i + 2 });
    const client = grpcClient();
    const s = grpcSubscribe(client, {
      channels: [channel],
      positions: { [channel]: { offset: String(first.offset), epoch: first.epoch } },
    });
    const [gap, subscribed] = await s.take(2);
    expect(gap?.event).toBe('discontinuity');
    expect(gap?.discontinuity?.current).toMatchObject({ offset: '5', epoch: first.epoch });
    expect(subscribed?.event).toBe('subscribed');
    s.cancel();
    client.close();
  });
});

// ---- Server reflection, as generic tools use it ----

interface ReflectionResponse {
  message_response: string;
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number };
}

function reflect(version: 'v1' | 'v1alpha', requests: object[]): Promise<ReflectionResponse[]> {
  const pkg = protoLoader.loadSync(join(protoDir, `grpc/reflection/${version}/reflection.proto`), {
    includeDirs: [protoDir],
    keepCase: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    grpc: {
      reflection: Record<string, { ServerReflection: new (t: string, c: grpc.ChannelCredentials) => grpc.Client }>;
    };
  };
  const client = new (
    loaded.grpc.reflection[version] as { ServerReflection: new (t: string, c: grpc.ChannelCredentials) => grpc.Client }
  ).ServerReflection(target, grpc.credentials.createInsecure());
  const stream = (
    client as unknown as {
      serverReflectionInfo(md: grpc.Metadata): grpc.ClientDuplexStream<object, ReflectionResponse>;
    }
  ).serverReflectionInfo(metadata());
  return new Promise((resolve, reject) => {
    const out: ReflectionResponse[] = [];
    stream.on('data', (m: ReflectionResponse) => {
      out.push(m);
      if (out.length === requests.length) {
        stream.end();
        client.close();
        resolve(out);
      }
    });
    stream.on('error', reject);
    for (const r of requests) stream.write(r);
  });
}

describe('gRPC server reflection', () => {
  it.each(['v1', 'v1alpha'] as const)('%s lists the services and serves their descriptors', async (version) => {
    const [list, file, missing] = await reflect(version, [
      { list_services: '' },
      { file_containing_symbol: 'tidings.api.v1.ApiService' },
      { file_containing_symbol: 'no.such.Symbol' },
    ]);
    expect(list?.list_services_response?.service.map((s) => s.name)).toEqual([
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'tidings.api.v1.ApiService',
    ]);
    const protos = file?.file_descriptor_response?.file_descriptor_proto ?? [];
    const descriptor = fromBinary(FileDescriptorProtoSchema, new Uint8Array(protos[0] ?? []));
    expect(descriptor.name).toBe('tidings/api/v1/api.proto');
    expect(descriptor.service[0]?.method.map((m) => m.name)).toContain('Subscribe');
    expect(missing?.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
  });

  it('gives @grpc/grpc-js what it needs to call the API without the .proto', async () => {
    const [file] = await reflect('v1', [{ file_containing_symbol: 'tidings.api.v1.ApiService.Publish' }]);
    const protos = (file?.file_descriptor_response?.file_descriptor_proto ?? []).map((b) =>
      fromBinary(FileDescriptorProtoSchema, new Uint8Array(b)),
    );
    const pkg = protoLoader.loadFileDescriptorSetFromObject(
      { file: protos.map((p) => JSON.parse(JSON.stringify(p, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)))) },
      { longs: String },
    );
    const client = grpcClient(pkg);
    const pub = await call<{ result: { offset: string } }>(client, 'publish', {
      channel: 'feed:reflected',
      data: Buffer.from('1'),
    });
    expect(pub.result.offset).toBe('1');
    client.close();
  });
});

// ---- Connect-ES clients over HTTP/1.1 ----

const transports: Record<string, () => Transport> = {
  'Connect (JSON) over HTTP/1.1': () =>
    createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: false }),
  'gRPC-Web over HTTP/1.1': () => createGrpcWebTransport({ baseUrl: url, httpVersion: '1.1' }),
};

describe.each(Object.entries(transports))('%s', (name, transport) => {
  const channel = `feed:${name.replace(/\W/g, '')}`;
  const headers = { 'x-api-key': apiKey };

  it('publishes, batches and reads history', async () => {
    const client = createClient(ApiService, transport());
    const pub = await client.publish({ channel, data: enc.encode('"a"') }, { headers });
    expect(pub.result?.offset).toBe(1n);
    const batch = await client.batch(
      { commands: [{ command: { case: 'publish', value: { channel, data: enc.encode('"b"') } } }] },
      { headers },
    );
    expect(batch.replies[0]?.result.case).toBe('publish');
    const history = await client.history({ channel, limit: -1 }, { headers });
    expect(history.publications.map((p) => dec.decode(p.data))).toEqual(['"a"', '"b"']);
    const err = await client.info({}, { headers: {} }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
  });

  it('Subscribe streams over HTTP/1.1 and resumes from a position', async () => {
    const client = createClient(ApiService, transport());
    const abort = new AbortController();
    const it = client.subscribe({ channels: [channel] }, { headers, signal: abort.signal })[Symbol.asyncIterator]();
    const subscribed = (await it.next()).value;
    expect(subscribed?.event.case).toBe('subscribed');
    const top = await httpPublish(channel, 'live');
    const live = (await it.next()).value;
    expect(live?.event.case === 'publication' && live.event.value.offset).toBe(BigInt(top.offset));
    abort.abort();
    await httpPublish(channel, 'missed');
    const again = client
      .subscribe(
        { channels: [channel], positions: { [channel]: { offset: BigInt(top.offset), epoch: top.epoch } } },
        { headers },
      )
      [Symbol.asyncIterator]();
    const missed = (await again.next()).value;
    expect(missed?.event.case === 'publication' && dec.decode(missed.event.value.data)).toBe('"missed"');
    await again.return?.();
  });
});

describe('bad input on the wire', () => {
  it('answers malformed Protobuf with a parse error, an unknown method with UNIMPLEMENTED, and stays healthy', async () => {
    // Connect unary, binary: the body is not a PublishRequest (field 1 claims 100 bytes, has 3).
    // connect-node reports request parse failures as `internal` (see docs/grpc.md).
    const res = await fetch(`${url}/tidings.api.v1.ApiService/Publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', 'x-api-key': apiKey },
      body: new Uint8Array([0x0a, 0x64, 0x61, 0x62, 0x63]),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ code: 'internal', message: 'parse binary: premature EOF' });

    const client = grpcClient();
    const unknown = await new Promise<grpc.ServiceError>((resolve) => {
      client.makeUnaryRequest(
        '/tidings.api.v1.ApiService/NoSuchMethod',
        (arg: Buffer) => arg,
        (buf: Buffer) => buf,
        Buffer.alloc(0),
        metadata(),
        (error) => resolve(error as grpc.ServiceError),
      );
    });
    expect(unknown.code).toBe(grpc.status.UNIMPLEMENTED);
    expect((await call<{ nodes: unknown[] }>(client, 'info', {})).nodes).toHaveLength(1);
    client.close();
  });
});

describe('one cleartext port for HTTP/1.1 and h2c', () => {
  it('still serves HTTP/1.1 requests and WebSocket upgrades beside gRPC', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/connection/websocket`);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.close();
    const client = grpcClient();
    expect((await call<{ nodes: unknown[] }>(client, 'info', {})).nodes).toHaveLength(1);
    client.close();
  });
});
