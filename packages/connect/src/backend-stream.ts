import { randomBytes, timingSafeEqual } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  type Command,
  type Disconnect,
  DisconnectCode,
  ErrorCode,
  protobufCodec,
  type Reply,
  type SubscribeRequest,
  shouldReconnect,
} from '@tidings/protocol';
import type { Authenticator, Credentials, SessionContext, TidingsNode, Transport } from '@tidings/server';
import {
  type StreamMessage,
  StreamMessageSchema,
  type StreamPosition,
  type StreamRequest,
} from './gen/tidings/api/v1/api_pb.js';

/** User id of backend stream sessions (in logs, hooks and presence). */
export const backendStreamUser = 'api-key';

const secretHeader = 'x-tidings-backend-stream';
const channelsHeader = 'x-tidings-backend-channels';

/**
 * Lets `Subscribe` streams log in to the node as trusted backends. A stream has already shown an
 * API key (the Connect interceptor checked it), and an API key grants the whole server API, so
 * its session is authenticated as user `api-key` with the requested channels as server-side
 * subscriptions (no channel permission check, as for the JSON API's publish). The session
 * carries a random per-process secret in its context headers; a client that sends the same
 * header over WebSocket or SSE cannot know it, so everything else goes to the inner authenticator.
 */
export interface BackendStreamLogin {
  /** The node's authenticator, extended with backend stream logins. */
  wrap(inner: Authenticator): Authenticator;
  /** The session context of a stream following `channels`. */
  context(channels: readonly string[], remoteAddress?: string): SessionContext;
}

export function createBackendStreamLogin(): BackendStreamLogin {
  const secret = randomBytes(32).toString('base64url');
  const secretBytes = Buffer.from(secret);
  return {
    wrap(inner: Authenticator): Authenticator {
      return {
        async authenticate(request): Promise<Credentials> {
          const presented = request.headers?.[secretHeader];
          const channels = request.headers?.[channelsHeader];
          if (typeof presented !== 'string' || typeof channels !== 'string') return inner.authenticate(request);
          const given = Buffer.from(presented);
          if (given.length !== secretBytes.length || !timingSafeEqual(given, secretBytes)) {
            return inner.authenticate(request);
          }
          return { userId: backendStreamUser, anonymous: false, channels: JSON.parse(channels) as string[] };
        },
        verifySubscriptionToken: (token, context) => inner.verifySubscriptionToken(token, context),
      };
    },
    context(channels, remoteAddress) {
      return {
        headers: { [secretHeader]: secret, [channelsHeader]: JSON.stringify(channels) },
        ...(remoteAddress !== undefined ? { remoteAddress } : {}),
      };
    },
  };
}

/** Why a stream ended without the client cancelling it. */
export class BackendStreamError extends Error {
  /** `refused`: the request was refused (wire `code`); `closed`: the session was disconnected (`code` 3xxx). */
  readonly kind: 'refused' | 'closed';
  readonly code: number;
  /** True when the client should reconnect and resume from its positions. */
  readonly temporary: boolean;
  constructor(kind: BackendStreamError['kind'], code: number, message: string, temporary: boolean) {
    super(message);
    this.name = 'BackendStreamError';
    this.kind = kind;
    this.code = code;
    this.temporary = temporary;
  }
}

/** What a stream needs of the node. */
export type StreamNode = Pick<TidingsNode, 'openSession'>;

/** Most channels one stream may follow. */
export const maxStreamChannels = 1000;

interface SessionPort {
  handleCommands(commands: readonly Command[]): void;
  transportClosed(): void;
}

/**
 * A session's side of one `Subscribe` stream. It decodes what the session writes (Protobuf
 * codec: payloads stay bytes) into `StreamMessage`s, queued until the RPC takes them. The queued
 * bytes are the session's `bufferedBytes`, so a backend that reads slower than its channels are
 * published to is disconnected as slow (3008) by the session's bounded writer, as any client.
 */
class StreamTransport implements Transport {
  readonly name = 'grpc';
  readonly codec = protobufCodec;
  readonly unidirectional = true;
  #queue: Array<{ message: StreamMessage; bytes: number }> = [];
  #bytes = 0;
  #wake: (() => void) | undefined;
  #end: BackendStreamError | 'cancelled' | undefined;
  readonly #waiters = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  #session: SessionPort | undefined;
  #nextId = 1;

  get bufferedBytes(): number {
    return this.#bytes;
  }

  attach(session: SessionPort): void {
    this.#session = session;
  }

  request(command: Omit<Command, 'id'>): Promise<Reply> {
    const session = this.#session;
    if (session === undefined || this.#end !== undefined) return Promise.reject(this.#failure());
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    session.handleCommands([{ ...command, id }]);
    return reply;
  }

  write(frame: Uint8Array): void {
    if (this.#end !== undefined) return;
    for (const reply of protobufCodec.decodeReplies(frame)) {
      const id = reply.id ?? 0;
      if (id !== 0) {
        this.#waiters.get(id)?.resolve(reply);
        this.#waiters.delete(id);
        continue;
      }
      const push = reply.push;
      if (push === undefined) continue;
      const channel = push.channel ?? '';
      if (push.pub !== undefined) {
        const pub = push.pub;
        this.#push(
          create(StreamMessageSchema, {
            channel,
            event: {
              case: 'publication',
              value: {
                data: pub.data,
                offset: BigInt(pub.offset ?? 0),
                tags: pub.tags ?? {},
                ...(pub.info !== undefined
                  ? {
                      info: {
                        user: pub.info.user,
                        client: pub.info.client,
                        ...(pub.info.connInfo !== undefined ? { connInfo: pub.info.connInfo } : {}),
                        ...(pub.info.chanInfo !== undefined ? { chanInfo: pub.info.chanInfo } : {}),
                      },
                    }
                  : {}),
              },
            },
          }),
          pub.data.length + 64,
        );
      } else if (push.unsubscribe !== undefined) {
        // The server took a channel away (server API unsubscribe, insufficient state...): the
        // stream no longer carries all it was asked for, so it ends and the client resumes.
        const { code, reason } = push.unsubscribe;
        this.#finish(new BackendStreamError('closed', code, `unsubscribed from ${channel}: ${reason}`, true));
      } else if (push.disconnect !== undefined) {
        this.close({ code: push.disconnect.code, reason: push.disconnect.reason });
      }
    }
  }

  writeMany(frames: readonly Uint8Array[]): void {
    for (const frame of frames) this.write(frame);
  }

  close(disconnect: Disconnect): void {
    const message = `disconnected: ${disconnect.code} ${disconnect.reason}`;
    this.#finish(new BackendStreamError('closed', disconnect.code, message, shouldReconnect(disconnect.code)));
  }

  /** The RPC ended (client cancelled, deadline): the session is released. */
  cancel(): void {
    this.#finish('cancelled', true);
  }

  /** The next message, or undefined when the stream ended; throws `BackendStreamError` when it failed. */
  async next(): Promise<StreamMessage | undefined> {
    for (;;) {
      if (this.#end === 'cancelled') return undefined;
      const first = this.#queue.shift();
      if (first !== undefined) {
        this.#bytes -= first.bytes;
        return first.message;
      }
      if (this.#end !== undefined) throw this.#end;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #push(message: StreamMessage, bytes: number): void {
    this.#queue.push({ message, bytes });
    this.#bytes += bytes;
    this.#wakeUp();
  }

  /** `byPeer`: the RPC ended, so the session is told its peer left (not when the session closed us). */
  #finish(end: BackendStreamError | 'cancelled', byPeer = false): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    const failure = this.#failure();
    for (const waiter of this.#waiters.values()) waiter.reject(failure);
    this.#waiters.clear();
    if (byPeer) this.#session?.transportClosed();
    this.#session = undefined;
    this.#wakeUp();
  }

  #failure(): BackendStreamError {
    return this.#end instanceof BackendStreamError
      ? this.#end
      : new BackendStreamError('closed', DisconnectCode.Shutdown, 'stream ended', true);
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

const position = (offset: number | undefined, epoch: string | undefined): StreamPosition =>
  ({ offset: BigInt(offset ?? 0), epoch: epoch ?? '' }) as StreamPosition;

/**
 * Follows `req.channels` for a backend: a session on the node with the channels as server-side
 * subscriptions, recovering each channel that has a position in `req.positions` through the
 * same race-free recovery as every transport (subscribe, buffer live publications while reading
 * history, merge by offset). Per channel the stream first sends the missed publications, or a
 * `Discontinuity` when history no longer covers the position (other epoch, retention dropped
 * some, namespace without recovery), then `subscribed` with the position everything after which
 * will arrive; then live publications. It ends with `BackendStreamError` when the session is
 * disconnected (shutdown, slow consumer, unsubscribed): the client resumes from its positions.
 */
export async function* backendStream(
  node: StreamNode,
  login: BackendStreamLogin,
  req: StreamRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamMessage> {
  const channels = [...new Set(req.channels)];
  if (channels.length === 0) throw new BackendStreamError('refused', ErrorCode.BadRequest, 'channels: empty', false);
  if (channels.length > maxStreamChannels) {
    throw new BackendStreamError('refused', ErrorCode.BadRequest, `channels: at most ${maxStreamChannels}`, false);
  }
  for (const ch of Object.keys(req.positions)) {
    if (!channels.includes(ch)) {
      throw new BackendStreamError('refused', ErrorCode.BadRequest, `positions: ${ch} is not in channels`, false);
    }
  }
  const transport = new StreamTransport();
  const session = node.openSession(transport, login.context(channels));
  transport.attach(session);
  const onAbort = (): void => transport.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) return;
    const subs: Record<string, SubscribeRequest> = {};
    for (const ch of channels) {
      const at = req.positions[ch];
      subs[ch] =
        at === undefined
          ? { recoverable: true }
          : { recoverable: true, recover: true, epoch: at.epoch, offset: Number(at.offset) };
    }
    const reply = await transport.request({ connect: { name: 'grpc', subs } });
    if (reply.error !== undefined) {
      throw new BackendStreamError('refused', reply.error.code, reply.error.message, reply.error.temporary === true);
    }
    const results = reply.connect?.subs ?? {};
    for (const ch of channels) {
      if (results[ch] === undefined) {
        // The session logs why (unknown namespace, engine unreachable...); validate with the node's rules.
        throw new BackendStreamError('refused', ErrorCode.BadRequest, `channel ${ch}: cannot subscribe`, false);
      }
    }
    for (const ch of channels) {
      const r = results[ch] ?? {};
      const at = req.positions[ch];
      const current = position(r.offset, r.epoch);
      if (at !== undefined && r.recovered !== true) {
        yield create(StreamMessageSchema, {
          channel: ch,
          event: { case: 'discontinuity', value: { requested: at, current } },
        });
      } else {
        for (const pub of r.publications ?? []) {
          yield create(StreamMessageSchema, {
            channel: ch,
            event: {
              case: 'publication',
              value: { data: pub.data, offset: BigInt(pub.offset ?? 0), tags: pub.tags ?? {} },
            },
          });
        }
      }
      yield create(StreamMessageSchema, { channel: ch, event: { case: 'subscribed', value: current } });
    }
    for (;;) {
      const message = await transport.next();
      if (message === undefined) return;
      yield message;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    transport.cancel();
  }
}
