import { type ClientCodec, decodeCursor } from '@tidings/protocol';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { type FetchLike, resolveFetch, withQuery } from './http.js';
import type { Transport, TransportFactory, TransportHandlers } from './transport.js';

/** Options of {@link pollTransport}. */
export interface PollTransportOptions {
  /** `http(s)://host/connection/poll`. */
  readonly url: string;
  /** Must be `jsonCodec`. */
  readonly codec: ClientCodec;
  readonly fetch?: FetchLike;
  readonly withCredentials?: boolean;
  /**
   * `wait` of each poll: 0 (default) is adaptive polling, each next poll when the server's
   * `nextPollMs` says (from the channel's change rate); above 0 is long-polling.
   */
  readonly waitMs?: number;
  /**
   * Poll at least this often whatever the server advises (it advises up to `poll.maxIntervalMs`,
   * 30 s by default, for a quiet channel). Default: as the server advises.
   */
  readonly maxIntervalMs?: number;
  /** Test seam. */
  readonly clock?: Clock;
}

interface PollReply {
  readonly publications?: ReadonlyArray<{
    readonly channel: string;
    readonly offset: number;
    readonly data: unknown;
    readonly tags?: Record<string, string>;
  }>;
  readonly discontinuities?: ReadonlyArray<{
    readonly channel: string;
    readonly epoch: string;
    readonly offset: number;
  }>;
  readonly cursor: string;
  readonly nextPollMs: number;
  readonly error?: { readonly code: number; readonly message: string };
}

interface Command {
  readonly id?: number;
  readonly connect?: { readonly token?: string };
  readonly refresh?: { readonly token: string };
  readonly subscribe?: {
    readonly channel: string;
    readonly recover?: boolean;
    readonly epoch?: string;
    readonly offset?: number;
  };
  readonly unsubscribe?: { readonly channel: string };
  readonly sub_refresh?: unknown;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
/** Wire code 108 (not available), temporary: the outbox keeps a publish for a later transport. */
const notAvailable = { code: 108, message: 'not available over polling', temporary: true };

/**
 * Adaptive polling of `GET /connection/poll`, for networks where no stream survives. The server
 * has no session for polls, so this transport answers the client's commands itself: `connect`
 * keeps the token (sent as `Authorization: Bearer`), `subscribe` starts one poll loop per channel
 * from the subscription's position (`since=<epoch>.<offset>`) and answers with the recovered
 * publications, later publications arrive as pushes. A cursor the server cannot continue mid-loop
 * becomes an `unsubscribe` push with code 2500, so the client resubscribes and reports the
 * discontinuity. Receive only: `publish`, `history`, `presence` and RPCs are answered with the
 * temporary error 108, so the outbox keeps publishes until a bidirectional transport is back.
 * A failed poll ends the transport (the client reconnects and resumes).
 */
export function pollTransport(options: PollTransportOptions): TransportFactory {
  if (options.codec.name !== 'json') throw new TypeError('pollTransport: JSON only');
  return {
    name: 'poll',
    codec: options.codec,
    open(handlers: TransportHandlers): Transport {
      const fetch = resolveFetch(options.fetch);
      const clock = options.clock ?? systemClock;
      const credentials = options.withCredentials === true ? 'include' : 'same-origin';
      let token: string | undefined;
      let closed = false;
      const loops = new Map<string, { cursor: string; timer?: TimerHandle; abort: AbortController }>();
      const emit = (reply: object) => handlers.onMessage(utf8.encode(JSON.stringify(reply)));
      const end = (reason: string) => {
        if (closed) return;
        stop();
        handlers.onClose(0, reason);
      };
      const stop = () => {
        closed = true;
        for (const loop of loops.values()) {
          if (loop.timer !== undefined) clock.clearTimeout(loop.timer);
          loop.abort.abort();
        }
        loops.clear();
      };
      const poll = async (query: string, signal: AbortSignal, wait: number): Promise<PollReply> => {
        const res = await fetch(withQuery(`${options.url}${query}`, 'wait', String(wait)), {
          method: 'GET',
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          signal,
          credentials,
        });
        const body = (await res.json()) as PollReply;
        if (res.ok) return body;
        return { ...body, error: body.error ?? { code: 100, message: `poll answered ${res.status}` } };
      };
      const pubOf = (p: NonNullable<PollReply['publications']>[number]) => ({
        offset: p.offset,
        data: p.data,
        ...(p.tags === undefined ? {} : { tags: p.tags }),
      });
      const schedule = (channel: string, ms: number) => {
        const loop = loops.get(channel);
        if (loop === undefined || closed) return;
        loop.timer = clock.setTimeout(() => void next(channel), Math.min(ms, options.maxIntervalMs ?? ms));
      };
      const next = async (channel: string) => {
        const loop = loops.get(channel);
        if (loop === undefined) return;
        let reply: PollReply;
        try {
          reply = await poll(`?cursor=${encodeURIComponent(loop.cursor)}`, loop.abort.signal, options.waitMs ?? 0);
        } catch {
          if (loops.get(channel) === loop) end('poll failed');
          return;
        }
        if (loops.get(channel) !== loop || closed) return;
        if (reply.error !== undefined) return end(`poll refused: ${reply.error.message}`);
        for (const p of reply.publications ?? []) emit({ push: { channel, pub: pubOf(p) } });
        if ((reply.discontinuities ?? []).length > 0) {
          loops.delete(channel);
          return emit({ push: { channel, unsubscribe: { code: 2500, reason: 'insufficient state' } } });
        }
        loop.cursor = reply.cursor;
        schedule(channel, reply.nextPollMs);
      };
      const subscribe = async (id: number, req: NonNullable<Command['subscribe']>) => {
        const { channel } = req;
        const abort = new AbortController();
        const since =
          req.recover === true ? `&since=${encodeURIComponent(`${req.epoch ?? ''}.${req.offset ?? 0}`)}` : '';
        let reply: PollReply;
        try {
          reply = await poll(`?channel=${encodeURIComponent(channel)}${since}`, abort.signal, 0);
        } catch {
          return end('poll failed');
        }
        if (closed) return;
        if (reply.error !== undefined) return emit({ id, error: reply.error });
        // Without a gap the reply's position is the cursor's (right after the publications); with
        // one it is where the server continued, and the publications follow it.
        const gap = reply.discontinuities?.find((d) => d.channel === channel);
        const at = gap ?? decodeCursor(reply.cursor)[channel];
        const pubs = (reply.publications ?? []).filter((p) => p.channel === channel).map(pubOf);
        emit({
          id,
          subscribe: {
            recoverable: true,
            positioned: true,
            epoch: at?.epoch ?? '',
            offset: gap === undefined ? (at?.offset ?? 0) : gap.offset,
            ...(req.recover === true ? { was_recovering: true, recovered: gap === undefined } : {}),
            ...(pubs.length > 0 ? { publications: pubs } : {}),
          },
        });
        loops.set(channel, { cursor: reply.cursor, abort });
        schedule(channel, reply.nextPollMs);
      };
      // The connect reply waits for one answer of the server (a poll naming no channel is refused
      // with 400, which proves it is there), so a server that is down fails this transport.
      const probe = async (id: number) => {
        let status: number;
        try {
          status = (await fetch(withQuery(options.url, 'wait', '0'), { method: 'GET', credentials })).status;
        } catch {
          return end('poll failed');
        }
        if (closed) return;
        if (status === 503 || status >= 500) return end(`poll answered ${status}`);
        emit({ id, connect: { client: `poll-${Math.random().toString(36).slice(2)}` } });
      };
      const handle = (cmd: Command) => {
        const id = cmd.id ?? 0;
        if (cmd.connect !== undefined) {
          token = cmd.connect.token;
          void probe(id);
        } else if (cmd.refresh !== undefined) {
          token = cmd.refresh.token;
          emit({ id, refresh: { client: '' } });
        } else if (cmd.subscribe !== undefined) void subscribe(id, cmd.subscribe);
        else if (cmd.unsubscribe !== undefined) {
          const loop = loops.get(cmd.unsubscribe.channel);
          loops.delete(cmd.unsubscribe.channel);
          if (loop?.timer !== undefined) clock.clearTimeout(loop.timer);
          loop?.abort.abort();
          emit({ id, unsubscribe: {} });
        } else if (cmd.sub_refresh !== undefined) emit({ id, sub_refresh: {} });
        else if (id > 0) emit({ id, error: notAvailable });
      };
      void Promise.resolve().then(() => closed || handlers.onOpen());
      return {
        name: 'poll',
        send(frame) {
          if (closed) return;
          for (const line of text.decode(frame).split('\n')) if (line.length > 0) handle(JSON.parse(line) as Command);
        },
        close() {
          if (!closed) stop();
        },
      };
    },
  };
}
