import { create } from '@bufbuild/protobuf';
import { ErrorCode } from '@tidings/protocol';
import {
  type ApiMethod,
  type ApiNode,
  type CallContext,
  callMethod,
  describeIssues,
  type FailureKind,
  methodSchemas,
} from '@tidings/server';
import {
  type BroadcastRequest,
  type BroadcastResponse,
  BroadcastResponseSchema,
  type ChannelsRequest,
  type ChannelsResponse,
  ChannelsResponseSchema,
  type DisconnectRequest,
  type DisconnectResponse,
  DisconnectResponseSchema,
  type HistoryRemoveRequest,
  type HistoryRemoveResponse,
  HistoryRemoveResponseSchema,
  type HistoryRequest,
  type HistoryResponse,
  HistoryResponseSchema,
  type InfoResponse,
  InfoResponseSchema,
  type PresenceRequest,
  type PresenceResponse,
  PresenceResponseSchema,
  type PresenceStatsRequest,
  type PresenceStatsResponse,
  PresenceStatsResponseSchema,
  type PublishRequest,
  type PublishResponse,
  PublishResponseSchema,
  type SubscribeUserRequest,
  type SubscribeUserResponse,
  SubscribeUserResponseSchema,
  type UnsubscribeRequest,
  type UnsubscribeResponse,
  UnsubscribeResponseSchema,
} from './gen/tidings/api/v1/api_pb.js';
import { type Plain, payloadOf } from './json-bytes.js';

/**
 * A call that did not produce a response message: bad input (`invalid`), the engine could not
 * serve it right now (`unavailable`) or an unexpected failure (`internal`). A transport maps
 * `kind` to its status (gRPC: INVALID_ARGUMENT, UNAVAILABLE, INTERNAL) and sends `code`, the
 * project's stable wire error code, in the details.
 */
export class ApiCallError extends Error {
  readonly kind: 'invalid' | Exclude<FailureKind, 'protocol'>;
  readonly code: number;
  constructor(kind: ApiCallError['kind'], code: number, message: string) {
    super(message);
    this.name = 'ApiCallError';
    this.kind = kind;
    this.code = code;
  }
}

type Outcome = { readonly error: { code: number; message: string } } | { readonly result: Plain };

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const orUndefined = (s: string): string | undefined => (s === '' ? undefined : s);
const tagsOf = (tags: Record<string, string>): Record<string, string> | undefined =>
  Object.keys(tags).length === 0 ? undefined : tags;

/**
 * Validates the JSON-shaped request with the same zod schema the HTTP API uses and runs it
 * through the same `callMethod`. Refusals (unknown channel, unrecoverable position...) come
 * back as `{ error }`, as the JSON API answers them; other failures throw `ApiCallError`.
 */
async function run(
  node: ApiNode,
  method: ApiMethod,
  body: Record<string, unknown>,
  ctx: CallContext,
): Promise<Outcome> {
  const parsed = methodSchemas[method].safeParse(body);
  if (!parsed.success) throw new ApiCallError('invalid', ErrorCode.BadRequest, describeIssues(parsed.error));
  // biome-ignore lint/suspicious/noExplicitAny: the schema of `method` validated `parsed.data`.
  const outcome = await callMethod(node, method, parsed.data as any, ctx);
  if (outcome.ok) return { result: JSON.parse(JSON.stringify(outcome.result, rawJsonReplacer)) as Plain };
  if (outcome.failure.kind === 'protocol') return { error: { ...outcome.failure.error } };
  throw new ApiCallError(outcome.failure.kind, outcome.failure.error.code, outcome.failure.error.message);
}

/** `RawJson` (stored payload text) → the parsed value, so results are plain JSON values. */
function rawJsonReplacer(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'text' in value && Object.keys(value).length === 1) {
    return { __raw: (value as { text: string }).text };
  }
  return value;
}

function publishBody(req: PublishRequest | BroadcastRequest): Record<string, unknown> {
  return {
    b64data: b64(req.data),
    tags: tagsOf(req.tags),
    idempotency_key: orUndefined(req.idempotencyKey),
    skip_history: req.skipHistory,
  };
}

const num = (v: Plain | undefined): number => (typeof v === 'number' ? v : 0);
const str = (v: Plain | undefined): string => (typeof v === 'string' ? v : '');
const obj = (v: Plain | undefined): Record<string, Plain> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Plain>) : {};

/**
 * The server API over Protobuf messages: one method per RPC of `tidings.api.v1.ApiService`,
 * shaped as a Connect service implementation. Every method runs on the JSON HTTP API's
 * implementation (`callMethod` in @tidings/server), so both wires behave the same.
 */
export function createApiService(node: ApiNode) {
  const ctx: CallContext = {};
  return {
    async publish(req: PublishRequest): Promise<PublishResponse> {
      const out = await run(node, 'publish', { channel: req.channel, ...publishBody(req) }, ctx);
      if ('error' in out) return create(PublishResponseSchema, { error: out.error });
      const r = obj(out.result);
      return create(PublishResponseSchema, { result: { offset: BigInt(num(r.offset)), epoch: str(r.epoch) } });
    },

    async broadcast(req: BroadcastRequest): Promise<BroadcastResponse> {
      const out = await run(node, 'broadcast', { channels: req.channels, ...publishBody(req) }, ctx);
      if ('error' in out) throw new ApiCallError('internal', out.error.code, out.error.message);
      const responses = (obj(out.result).responses as Plain[]).map((p) => {
        const e = obj(obj(p).error);
        if ('code' in e) return { error: { code: num(e.code), message: str(e.message) } };
        const r = obj(obj(p).result);
        return { result: { offset: BigInt(num(r.offset)), epoch: str(r.epoch) } };
      });
      return create(BroadcastResponseSchema, { responses });
    },

    async history(req: HistoryRequest): Promise<HistoryResponse> {
      const body = {
        channel: req.channel,
        limit: req.limit,
        reverse: req.reverse,
        since: req.since === undefined ? undefined : { offset: Number(req.since.offset), epoch: req.since.epoch },
      };
      const out = await run(node, 'history', body, ctx);
      if ('error' in out) throw new ApiCallError('invalid', out.error.code, out.error.message);
      const r = obj(out.result);
      const publications = (r.publications as Plain[]).map((p) => {
        const o = obj(p);
        return { data: payloadOf(o), offset: BigInt(num(o.offset)), tags: obj(o.tags) as Record<string, string> };
      });
      return create(HistoryResponseSchema, { publications, offset: BigInt(num(r.offset)), epoch: str(r.epoch) });
    },

    async historyRemove(req: HistoryRemoveRequest): Promise<HistoryRemoveResponse> {
      await settle(run(node, 'history_remove', { channel: req.channel }, ctx));
      return create(HistoryRemoveResponseSchema, {});
    },

    async presence(req: PresenceRequest): Promise<PresenceResponse> {
      const r = obj(await settle(run(node, 'presence', { channel: req.channel }, ctx)));
      const presence: Record<string, { user: string; client: string; connInfo: Uint8Array; chanInfo: Uint8Array }> = {};
      for (const [id, c] of Object.entries(obj(r.presence))) {
        const o = obj(c);
        presence[id] = {
          user: str(o.user),
          client: str(o.client),
          connInfo: payloadOf(o, 'conn_info'),
          chanInfo: payloadOf(o, 'chan_info'),
        };
      }
      return create(PresenceResponseSchema, { presence });
    },

    async presenceStats(req: PresenceStatsRequest): Promise<PresenceStatsResponse> {
      const r = obj(await settle(run(node, 'presence_stats', { channel: req.channel }, ctx)));
      return create(PresenceStatsResponseSchema, { numClients: num(r.num_clients), numUsers: num(r.num_users) });
    },

    async channels(req: ChannelsRequest): Promise<ChannelsResponse> {
      const r = obj(await settle(run(node, 'channels', { pattern: orUndefined(req.pattern) }, ctx)));
      const channels: Record<string, { numClients: number }> = {};
      for (const [name, c] of Object.entries(obj(r.channels))) channels[name] = { numClients: num(obj(c).num_clients) };
      return create(ChannelsResponseSchema, { channels });
    },

    async info(): Promise<InfoResponse> {
      const r = obj(await settle(run(node, 'info', {}, ctx)));
      const nodes = (r.nodes as Plain[]).map((n) => {
        const o = obj(n);
        return {
          uid: str(o.uid),
          name: str(o.name),
          version: str(o.version),
          numClients: num(o.num_clients),
          numUsers: num(o.num_users),
          numChannels: num(o.num_channels),
          numSubs: num(o.num_subs),
          uptime: num(o.uptime),
        };
      });
      return create(InfoResponseSchema, { nodes });
    },

    async disconnect(req: DisconnectRequest): Promise<DisconnectResponse> {
      const body = {
        user: req.user,
        client: orUndefined(req.client),
        session: orUndefined(req.session),
        whitelist: req.whitelist.length === 0 ? undefined : req.whitelist,
        disconnect: req.disconnect === undefined ? undefined : { ...req.disconnect },
      };
      await settle(run(node, 'disconnect', body, ctx));
      return create(DisconnectResponseSchema, {});
    },

    async unsubscribe(req: UnsubscribeRequest): Promise<UnsubscribeResponse> {
      const body = { user: req.user, channel: req.channel, client: orUndefined(req.client) };
      await settle(run(node, 'unsubscribe', body, ctx));
      return create(UnsubscribeResponseSchema, {});
    },

    async subscribeUser(req: SubscribeUserRequest): Promise<SubscribeUserResponse> {
      const body = { user: req.user, channel: req.channel, client: orUndefined(req.client) };
      await settle(run(node, 'subscribe', body, ctx));
      return create(SubscribeUserResponseSchema, {});
    },
  };
}

/** The result of a method whose response has no `error` field; a refusal throws `ApiCallError`. */
async function settle(outcome: Promise<Outcome>): Promise<Plain> {
  const out = await outcome;
  if ('error' in out) throw new ApiCallError('invalid', out.error.code, out.error.message);
  return out.result;
}
