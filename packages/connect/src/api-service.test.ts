import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  createJwtAuthenticator,
  createMemoryEngine,
  createNode,
  interfaceVersions,
  type TidingsNode,
} from '@tidings/server';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiCallError, createApiService } from './api-service.js';
import { PublishRequestSchema } from './gen/tidings/api/v1/api_pb.js';

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function service() {
  const engine = createMemoryEngine();
  const node = createNode({
    broker: engine.broker,
    history: engine.history,
    presence: engine.presence,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { chat: { historySize: 10, historyTtlMs: 60_000, presence: true } } },
  });
  await node.start();
  nodes.push(node);
  return createApiService(node);
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('createApiService', () => {
  it('publishes JSON and binary payloads and reads them back byte for byte from history', async () => {
    const api = await service();
    // A request that went over the wire as Protobuf.
    const wire = toBinary(
      PublishRequestSchema,
      create(PublishRequestSchema, { channel: 'chat:a', data: bytes('{"n": 1}') }),
    );
    const first = await api.publish(fromBinary(PublishRequestSchema, wire));
    expect(first.error).toBeUndefined();
    expect(first.result?.offset).toBe(1n);
    const binary = new Uint8Array([0, 255, 7]);
    const second = await api.publish(
      create(PublishRequestSchema, { channel: 'chat:a', data: binary, tags: { k: 'v' } }),
    );
    expect(second.result?.offset).toBe(2n);
    expect(second.result?.epoch).toBe(first.result?.epoch);

    const history = await api.history({
      $typeName: 'tidings.api.v1.HistoryRequest',
      channel: 'chat:a',
      limit: -1,
      reverse: false,
    });
    expect(history.offset).toBe(2n);
    expect(history.publications.map((p) => p.offset)).toEqual([1n, 2n]);
    expect(text(history.publications[0]?.data ?? new Uint8Array())).toBe('{"n": 1}');
    expect(history.publications[1]?.data).toEqual(binary);
    expect(history.publications[1]?.tags).toEqual({ k: 'v' });
  });

  it('answers a refusal in the response error field with the stable wire code, as the JSON API does', async () => {
    const api = await service();
    const out = await api.publish(create(PublishRequestSchema, { channel: 'nosuchns:a', data: bytes('1') }));
    expect(out.result).toBeUndefined();
    expect(out.error?.code).toBe(102);
  });

  it('rejects input the JSON API schema rejects with ApiCallError invalid/107', async () => {
    const api = await service();
    const err = await api
      .unsubscribe({ $typeName: 'tidings.api.v1.UnsubscribeRequest', user: '', channel: 'chat:a', client: '' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).kind).toBe('invalid');
    expect((err as ApiCallError).code).toBe(107);
    expect((err as ApiCallError).message).toContain('user');
  });

  it('broadcasts per channel, and reports presence stats, channels and node info', async () => {
    const api = await service();
    const out = await api.broadcast({
      $typeName: 'tidings.api.v1.BroadcastRequest',
      channels: ['chat:x', 'nosuchns:y'],
      data: bytes('"hi"'),
      tags: {},
      idempotencyKey: '',
      skipHistory: false,
    });
    expect(out.responses[0]?.result?.offset).toBe(1n);
    expect(out.responses[1]?.error?.code).toBe(102);
    const stats = await api.presenceStats({ $typeName: 'tidings.api.v1.PresenceStatsRequest', channel: 'chat:x' });
    expect(stats.numClients).toBe(0);
    const presence = await api.presence({ $typeName: 'tidings.api.v1.PresenceRequest', channel: 'chat:x' });
    expect(presence.presence).toEqual({});
    const refused = await api
      .presence({ $typeName: 'tidings.api.v1.PresenceRequest', channel: 'nosuchns:x' })
      .catch((e: unknown) => e);
    expect((refused as ApiCallError).code).toBe(102);
    const info = await api.info();
    expect(info.nodes).toHaveLength(1);
    expect(info.nodes[0]?.uid).not.toBe('');
    // The same versions as the JSON API's info (docs/versioning.md).
    expect(info.versions).toMatchObject({
      server: info.nodes[0]?.version,
      httpApi: interfaceVersions.httpApi,
      clientProtocol: interfaceVersions.clientProtocol,
      protobufApi: 'tidings.api.v1',
      oneWayStreams: interfaceVersions.oneWayStreams,
    });
    const channels = await api.channels({ $typeName: 'tidings.api.v1.ChannelsRequest', pattern: '' });
    expect(channels.channels).toEqual({});
    await api.historyRemove({ $typeName: 'tidings.api.v1.HistoryRemoveRequest', channel: 'chat:x' });
    const after = await api.history({
      $typeName: 'tidings.api.v1.HistoryRequest',
      channel: 'chat:x',
      limit: -1,
      reverse: false,
    });
    expect(after.publications).toEqual([]);
  });
});
