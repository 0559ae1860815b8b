import { create, type Message, type MessageShape } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import { ErrorCode } from '@tidings/protocol';
import {
  type ApiMethod,
  type ApiNode,
  type CallContext,
  callMethod,
  describeIssues,
  type FailureKind,
  maxBatchCommands,
  methodSchemas,
} from '@tidings/server';
import {
  type BatchRequest,
  type BatchResponse,
  BatchResponseSchema,
  type BroadcastRequest,
  type BroadcastResponse,
  BroadcastResponseSchema,
  type ChannelsRequest,
  type ChannelsResponse,
  ChannelsResponseSchema,
  type Command,
  type DisconnectRequest,
  type DisconnectResponse,
  DisconnectResponseSchema,
  type HistoryRemoveRequest,
  type HistoryRemoveResponse,
  HistoryRemoveResponseSchema,
  type HistoryRequest,
  type HistoryResponse,
  HistoryResponseSchema,
  type InfoRequest,
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
  type Reply,
  ReplySchema,
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
  return runParsed(node, method, parse(method, body), ctx);
}

/** The zod-validated request of `method`; `at` prefixes the path in the error (a batch's command). */
function parse(method: ApiMethod, body: Record<string, unknown>, at: readonly PropertyKey[] = []): unknown {
  const parsed = methodSchemas[method].safeParse(body);
  if (!parsed.success) {
    throw new ApiCallError('invalid', ErrorCode.BadRequest, describeIssues(parsed.error, at));
  }
  return parsed.data;
}

async function runParsed(node: ApiNode, method: ApiMethod, request: unknown, ctx: CallContext): Promise<Outcome> {
  // biome-ignore lint/suspicious/noExplicitAny: the schema of `method` validated `request`.
  const outcome = await callMethod(node, method, request as any, ctx);
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

/** How one unary RPC maps onto a JSON API method: the request body, and the response from its outcome. */
interface MethodSpec<Req, Res> {
  readonly method: ApiMethod;
  body(req: Req): Record<string, unknown>;
  respond(out: Outcome): Res;
}

const spec = <Req, Res>(s: MethodSpec<Req, Res>): MethodSpec<Req, Res> => s;

/** The result of a method whose response has no `error` field; a refusal throws `ApiCallError`. */
function settle(out: Outcome): Plain {
  if ('error' in out) throw new ApiCallError('invalid', out.error.code, out.error.message);
  return out.result;
}

/** The empty response of a method that answers nothing but success. */
function empty<S extends GenMessage<Message>>(out: Outcome, schema: S): MessageShape<S> {
  settle(out);
  return create(schema, {} as never);
}

const specs = {
  publish: spec<PublishRequest, PublishResponse>({
    method: 'publish',
    body: (req) => ({ channel: req.channel, ...publishBody(req) }),
    respond(out) {
      if ('error' in out) return create(PublishResponseSchema, { error: out.error });
      const r = obj(out.result);
      return create(PublishResponseSchema, { result: { offset: BigInt(num(r.offset)), epoch: str(r.epoch) } });
    },
  }),

  broadcast: spec<BroadcastRequest, BroadcastResponse>({
    method: 'broadcast',
    body: (req) => ({ channels: req.channels, ...publishBody(req) }),
    respond(out) {
      if ('error' in out) throw new ApiCallError('internal', out.error.code, out.error.message);
      const responses = (obj(out.result).responses as Plain[]).map((p) => {
        const e = obj(obj(p).error);
        if ('code' in e) return { error: { code: num(e.code), message: str(e.message) } };
        const r = obj(obj(p).result);
        return { result: { offset: BigInt(num(r.offset)), epoch: str(r.epoch) } };
      });
      return create(BroadcastResponseSchema, { responses });
    },
  }),

  history: spec<HistoryRequest, HistoryResponse>({
    method: 'history',
    body: (req) => ({
      channel: req.channel,
      limit: req.limit,
      reverse: req.reverse,
      since: req.since === undefined ? undefined : { offset: Number(req.since.offset), epoch: req.since.epoch },
    }),
    respond(out) {
      const r = obj(settle(out));
      const publications = (r.publications as Plain[]).map((p) => {
        const o = obj(p);
        return { data: payloadOf(o), offset: BigInt(num(o.offset)), tags: obj(o.tags) as Record<string, string> };
      });
      return create(HistoryResponseSchema, { publications, offset: BigInt(num(r.offset)), epoch: str(r.epoch) });
    },
  }),

  historyRemove: spec<HistoryRemoveRequest, HistoryRemoveResponse>({
    method: 'history_remove',
    body: (req) => ({ channel: req.channel }),
    respond: (out) => empty(out, HistoryRemoveResponseSchema),
  }),

  presence: spec<PresenceRequest, PresenceResponse>({
    method: 'presence',
    body: (req) => ({ channel: req.channel }),
    respond(out) {
      const r = obj(settle(out));
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
  }),

  presenceStats: spec<PresenceStatsRequest, PresenceStatsResponse>({
    method: 'presence_stats',
    body: (req) => ({ channel: req.channel }),
    respond(out) {
      const r = obj(settle(out));
      return create(PresenceStatsResponseSchema, { numClients: num(r.num_clients), numUsers: num(r.num_users) });
    },
  }),

  channels: spec<ChannelsRequest, ChannelsResponse>({
    method: 'channels',
    body: (req) => ({ pattern: orUndefined(req.pattern) }),
    respond(out) {
      const r = obj(settle(out));
      const channels: Record<string, { numClients: number }> = {};
      for (const [name, c] of Object.entries(obj(r.channels))) channels[name] = { numClients: num(obj(c).num_clients) };
      return create(ChannelsResponseSchema, { channels });
    },
  }),

  info: spec<InfoRequest, InfoResponse>({
    method: 'info',
    body: () => ({}),
    respond(out) {
      const r = obj(settle(out));
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
      const v = obj(r.versions);
      const versions = {
        server: str(v.server),
        httpApi: str(v.http_api),
        clientProtocol: str(v.client_protocol),
        protobufApi: str(v.protobuf_api),
        oneWayStreams: str(v.one_way_streams),
      };
      return create(InfoResponseSchema, { nodes, versions });
    },
  }),

  disconnect: spec<DisconnectRequest, DisconnectResponse>({
    method: 'disconnect',
    body: (req) => ({
      user: req.user,
      client: orUndefined(req.client),
      session: orUndefined(req.session),
      whitelist: req.whitelist.length === 0 ? undefined : req.whitelist,
      disconnect: req.disconnect === undefined ? undefined : { ...req.disconnect },
    }),
    respond: (out) => empty(out, DisconnectResponseSchema),
  }),

  unsubscribe: spec<UnsubscribeRequest, UnsubscribeResponse>({
    method: 'unsubscribe',
    body: (req) => ({ user: req.user, channel: req.channel, client: orUndefined(req.client) }),
    respond: (out) => empty(out, UnsubscribeResponseSchema),
  }),

  subscribeUser: spec<SubscribeUserRequest, SubscribeUserResponse>({
    method: 'subscribe',
    body: (req) => ({ user: req.user, channel: req.channel, client: orUndefined(req.client) }),
    respond: (out) => empty(out, SubscribeUserResponseSchema),
  }),
} as const;

/** `Command.command.case` → the spec that runs it (the batch `subscribe` is `SubscribeUser`). */
const commandSpecs: Readonly<Record<NonNullable<Command['command']['case']>, keyof typeof specs>> = {
  publish: 'publish',
  broadcast: 'broadcast',
  history: 'history',
  historyRemove: 'historyRemove',
  presence: 'presence',
  presenceStats: 'presenceStats',
  channels: 'channels',
  info: 'info',
  disconnect: 'disconnect',
  unsubscribe: 'unsubscribe',
  subscribe: 'subscribeUser',
};

/** One batch reply: the command's result in the `Reply.result` case of the same name, or `error`. */
function replyOf(which: NonNullable<Command['command']['case']>, out: Outcome): Reply {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: `which` pairs the spec with its Reply case.
    const value: any = specs[commandSpecs[which]].respond(out);
    if (which === 'publish') {
      const res = value as PublishResponse;
      if (res.error !== undefined) return create(ReplySchema, { error: res.error });
      return create(ReplySchema, { result: { case: 'publish', value: res.result ?? { offset: 0n, epoch: '' } } });
    }
    return create(ReplySchema, { result: { case: which, value } });
  } catch (error) {
    if (error instanceof ApiCallError) {
      return create(ReplySchema, { error: { code: error.code, message: error.message } });
    }
    throw error;
  }
}

/**
 * The server API over Protobuf messages: one method per unary RPC of `tidings.api.v1.ApiService`,
 * shaped as a Connect service implementation. Every method runs on the JSON HTTP API's
 * implementation (`callMethod` in @tidings/server), so both wires behave the same.
 */
export function createApiService(node: ApiNode) {
  const ctx: CallContext = {};
  const unary =
    <Req, Res>(s: MethodSpec<Req, Res>) =>
    async (req: Req): Promise<Res> =>
      s.respond(await run(node, s.method, s.body(req), ctx));

  /** One command's outcome; engine failures (unavailable, internal) become its reply's error. */
  const runCommand = async (method: ApiMethod, request: unknown): Promise<Outcome> => {
    try {
      return await runParsed(node, method, request, ctx);
    } catch (error) {
      if (error instanceof ApiCallError) return { error: { code: error.code, message: error.message } };
      throw error;
    }
  };

  return {
    publish: unary(specs.publish),
    broadcast: unary(specs.broadcast),
    history: unary(specs.history),
    historyRemove: unary(specs.historyRemove),
    presence: unary(specs.presence),
    presenceStats: unary(specs.presenceStats),
    channels: unary(specs.channels),
    info: unary(specs.info),
    disconnect: unary(specs.disconnect),
    unsubscribe: unary(specs.unsubscribe),
    subscribeUser: unary(specs.subscribeUser),

    /**
     * As `POST /api/batch`: every command is validated first and a malformed one rejects the
     * whole batch (INVALID_ARGUMENT, nothing runs); then they run in order, or all at once with
     * `parallel`, and each gets its reply in place: its result, or `error` with the wire code.
     */
    async batch(req: BatchRequest): Promise<BatchResponse> {
      if (req.commands.length > maxBatchCommands) {
        throw new ApiCallError('invalid', ErrorCode.BadRequest, `commands: at most ${maxBatchCommands} commands`);
      }
      const parsed = req.commands.map((command, i) => {
        const which = command.command.case;
        if (which === undefined) {
          throw new ApiCallError('invalid', ErrorCode.BadRequest, `commands[${i}]: expected exactly one method`);
        }
        const s = specs[commandSpecs[which]] as MethodSpec<unknown, unknown>;
        return {
          which,
          method: s.method,
          request: parse(s.method, s.body(command.command.value), ['commands', i, s.method]),
        };
      });
      const exec = async (c: (typeof parsed)[number]): Promise<Reply> =>
        replyOf(c.which, await runCommand(c.method, c.request));
      const replies: Reply[] = [];
      if (req.parallel) replies.push(...(await Promise.all(parsed.map(exec))));
      else for (const c of parsed) replies.push(await exec(c));
      return create(BatchResponseSchema, { replies });
    },
  };
}
