/**
 * Centrifuge client protocol v2 messages as plain TypeScript objects.
 *
 * Both codecs (JSON and Protobuf) decode into and encode from these shapes, so the server's
 * protocol logic never sees a wire format. `data` fields are raw bytes: for the JSON codec they
 * hold JSON text that is embedded verbatim (Centrifuge's `json.RawMessage` semantics); for the
 * Protobuf codec they are opaque bytes. Offsets and times are JS numbers (safe up to 2^53).
 * Absent optional fields mean the protocol default (0, "", false, empty).
 */

/** Raw payload bytes. For JSON connections these bytes are JSON text. */
export type Bytes = Uint8Array;

/** A position in a channel's stream. */
export interface StreamPosition {
  /** Contiguous and increasing within one epoch. */
  readonly offset: number;
  /** Changes when the store may have lost publications; a client holding another epoch cannot resume. */
  readonly epoch: string;
}

/** Who published, joined or left. */
export interface ClientInfo {
  user: string;
  client: string;
  connInfo?: Bytes;
  chanInfo?: Bytes;
}

/** One publication in a channel. `channel` is only set inside multiplexed contexts. */
export interface Publication {
  data: Bytes;
  info?: ClientInfo;
  offset?: number;
  tags?: Record<string, string>;
  delta?: boolean;
  /** Milliseconds since the Unix epoch. */
  time?: number;
  channel?: string;
}

/** Wire error inside a reply. */
export interface ReplyErrorBody {
  code: number;
  message: string;
  temporary?: boolean;
}

// ---- requests ----

export interface ConnectRequest {
  token?: string;
  data?: Bytes;
  subs?: Record<string, SubscribeRequest>;
  name?: string;
  version?: string;
  headers?: Record<string, string>;
}
export interface SubscribeRequest {
  channel?: string;
  token?: string;
  recover?: boolean;
  epoch?: string;
  offset?: number;
  data?: Bytes;
  positioned?: boolean;
  recoverable?: boolean;
  joinLeave?: boolean;
  delta?: string;
}
export interface UnsubscribeRequest {
  channel: string;
}
export interface PublishRequest {
  channel: string;
  data: Bytes;
  /** Tidings extension (field 100): the server stores a publish repeated with this key once. */
  idempotencyKey?: string;
}
export interface PresenceRequest {
  channel: string;
}
export interface PresenceStatsRequest {
  channel: string;
}
export interface HistoryRequest {
  channel: string;
  limit?: number;
  since?: StreamPosition;
  reverse?: boolean;
}
export type PingRequest = Record<string, never>;
export interface SendRequest {
  data: Bytes;
}
export interface RpcRequest {
  data?: Bytes;
  method?: string;
}
export interface RefreshRequest {
  token: string;
}
export interface SubRefreshRequest {
  channel: string;
  token: string;
}

/**
 * A client command. Exactly one request field is set, except for the empty command `{}` which
 * is the client's pong (protocol v2).
 */
export interface Command {
  id?: number;
  connect?: ConnectRequest;
  subscribe?: SubscribeRequest;
  unsubscribe?: UnsubscribeRequest;
  publish?: PublishRequest;
  presence?: PresenceRequest;
  presenceStats?: PresenceStatsRequest;
  history?: HistoryRequest;
  ping?: PingRequest;
  send?: SendRequest;
  rpc?: RpcRequest;
  refresh?: RefreshRequest;
  subRefresh?: SubRefreshRequest;
}

// ---- results ----

export interface ConnectResult {
  client: string;
  version?: string;
  expires?: boolean;
  ttl?: number;
  data?: Bytes;
  subs?: Record<string, SubscribeResult>;
  /** Server ping interval in seconds. */
  ping?: number;
  /** Whether the client must answer pings with a pong. */
  pong?: boolean;
  session?: string;
  node?: string;
  time?: number;
}
export interface SubscribeResult {
  expires?: boolean;
  ttl?: number;
  recoverable?: boolean;
  epoch?: string;
  publications?: Publication[];
  recovered?: boolean;
  offset?: number;
  positioned?: boolean;
  data?: Bytes;
  wasRecovering?: boolean;
  delta?: boolean;
}
export type UnsubscribeResult = Record<string, never>;
export type PublishResult = Record<string, never>;
export interface PresenceResult {
  presence: Record<string, ClientInfo>;
}
export interface PresenceStatsResult {
  numClients: number;
  numUsers: number;
}
export interface HistoryResult {
  publications: Publication[];
  epoch: string;
  offset: number;
}
export type PingResult = Record<string, never>;
export interface RpcResult {
  data?: Bytes;
}
export interface RefreshResult {
  client: string;
  version?: string;
  expires?: boolean;
  ttl?: number;
}
export interface SubRefreshResult {
  expires?: boolean;
  ttl?: number;
}

// ---- pushes ----

export interface JoinPush {
  info: ClientInfo;
}
export interface LeavePush {
  info: ClientInfo;
}
export interface UnsubscribePush {
  code: number;
  reason: string;
}
export interface SubscribePush {
  recoverable?: boolean;
  epoch?: string;
  offset?: number;
  positioned?: boolean;
  data?: Bytes;
}
export interface MessagePush {
  data: Bytes;
}
export interface ConnectPush {
  client: string;
  version?: string;
  data?: Bytes;
  subs?: Record<string, SubscribeResult>;
  expires?: boolean;
  ttl?: number;
  ping?: number;
  pong?: boolean;
  session?: string;
  node?: string;
  time?: number;
}
export interface DisconnectPush {
  code: number;
  reason: string;
  reconnect?: boolean;
}
export interface RefreshPush {
  expires?: boolean;
  ttl?: number;
}

/** An asynchronous server message. Exactly one body field is set. */
export interface Push {
  channel?: string;
  pub?: Publication;
  join?: JoinPush;
  leave?: LeavePush;
  unsubscribe?: UnsubscribePush;
  message?: MessagePush;
  subscribe?: SubscribePush;
  connect?: ConnectPush;
  disconnect?: DisconnectPush;
  refresh?: RefreshPush;
}

/**
 * A server reply. `id` matches the command it answers; a reply with no id carries a `push`.
 * The empty reply `{}` is the server's ping (protocol v2).
 */
export interface Reply {
  id?: number;
  error?: ReplyErrorBody;
  push?: Push;
  connect?: ConnectResult;
  subscribe?: SubscribeResult;
  unsubscribe?: UnsubscribeResult;
  publish?: PublishResult;
  presence?: PresenceResult;
  presenceStats?: PresenceStatsResult;
  history?: HistoryResult;
  ping?: PingResult;
  rpc?: RpcResult;
  refresh?: RefreshResult;
  subRefresh?: SubRefreshResult;
}
