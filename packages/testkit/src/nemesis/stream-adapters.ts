// Ledger-recording subscribers for the one-way HTTP transports (SSE, NDJSON, long-poll), written
// against the wire format in docs/transports.md rather than a library so that they see exactly
// what a third-party client sees: they resume with the cursor, record every `discontinuity`, and
// reconnect by themselves after any failure.
import type { Ledger } from '../ledger.js';
import type { NemesisSubscriber, SubscriberContext } from './subscriber.js';

interface WireEvent {
  readonly type?: string;
  readonly channel?: string;
  readonly offset?: number;
  readonly epoch?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly cursor?: string;
  readonly data?: { readonly id?: string };
}

/** Applies one wire event to the ledger; returns the cursor it carries, if any. */
function record(ledger: Ledger, id: string, channel: string, event: WireEvent): void {
  if (event.type === 'publication' && event.channel === channel) {
    ledger.received(id, channel, { offset: event.offset ?? -1, epoch: event.epoch ?? '', id: event.data?.id ?? '' });
  } else if (event.type === 'discontinuity' && event.channel === channel) {
    ledger.discontinuity(id, channel, {
      ...(event.epoch === undefined ? {} : { epoch: event.epoch }),
      reason: event.reason ?? 'discontinuity',
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * An SSE (`/connection/sse`, cursor in `Last-Event-ID`) or NDJSON (`/connection/stream`,
 * `?cursor=`) subscriber. `stall(ms)` stops reading the body for that long, so the server's
 * writer queue for it grows as a slow consumer's would.
 */
export function streamSubscriber(format: 'sse' | 'ndjson', ctx: SubscriberContext): NemesisSubscriber {
  const { id, channel, ledger } = ctx;
  let cursor: string | undefined;
  let closed = false;
  let abort: AbortController | undefined;
  let stallUntil = 0;
  const stats = { connects: 0, failures: 0 };
  ledger.subscribed(id, channel);

  const url = () => {
    const path = format === 'sse' ? 'sse' : 'stream';
    const resume = format === 'ndjson' && cursor !== undefined ? `&cursor=${cursor}` : '';
    return `${ctx.base()}/connection/${path}?channel=${encodeURIComponent(channel)}${resume}`;
  };

  const consume = async (res: Response, signal: AbortSignal) => {
    const body = res.body;
    if (body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        while (Date.now() < stallUntil && !signal.aborted) await sleep(50);
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        const sep = format === 'sse' ? '\n\n' : '\n';
        let at = buffer.indexOf(sep);
        while (at >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + sep.length);
          at = buffer.indexOf(sep);
          if (format === 'ndjson') {
            if (block.trim() === '') continue;
            const event = JSON.parse(block) as WireEvent;
            record(ledger, id, channel, event);
            if (event.cursor !== undefined) cursor = event.cursor;
            continue;
          }
          let eventId: string | undefined;
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) eventId = line.slice(3).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data !== '') record(ledger, id, channel, JSON.parse(data) as WireEvent);
          if (eventId !== undefined && eventId !== '') cursor = eventId;
        }
      }
    } finally {
      reader.releaseLock();
    }
  };

  const loop = (async () => {
    while (!closed) {
      abort = new AbortController();
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${await ctx.token()}` };
        if (format === 'sse' && cursor !== undefined) headers['last-event-id'] = cursor;
        const res = await fetch(url(), { headers, signal: abort.signal });
        stats.connects++;
        if (res.status !== 200) {
          stats.failures++;
          await res.body?.cancel();
        } else {
          await consume(res, abort.signal);
        }
      } catch {
        stats.failures++;
      }
      if (!closed) await sleep(ctx.reconnectDelayMs);
    }
  })();

  return {
    id,
    transport: format,
    channel,
    stats,
    flap: () => abort?.abort(),
    stall: (ms) => {
      stallUntil = Date.now() + ms;
    },
    close: async () => {
      closed = true;
      abort?.abort();
      await loop;
    },
  };
}

interface PollReply {
  readonly publications?: readonly WireEvent[];
  readonly discontinuities?: readonly WireEvent[];
  readonly cursor?: string;
  readonly nextPollMs?: number;
}

/** A long-poll subscriber on `/connection/poll`, carrying its cursor from reply to reply. */
export function pollSubscriber(ctx: SubscriberContext): NemesisSubscriber {
  const { id, channel, ledger } = ctx;
  let cursor: string | undefined;
  let closed = false;
  let abort: AbortController | undefined;
  let stallUntil = 0;
  const stats = { connects: 0, failures: 0 };
  ledger.subscribed(id, channel);

  const loop = (async () => {
    while (!closed) {
      if (Date.now() < stallUntil) {
        await sleep(50);
        continue;
      }
      abort = new AbortController();
      try {
        const at = cursor === undefined ? '' : `&cursor=${cursor}`;
        const res = await fetch(`${ctx.base()}/connection/poll?channel=${encodeURIComponent(channel)}&wait=2000${at}`, {
          headers: { authorization: `Bearer ${await ctx.token()}` },
          signal: abort.signal,
        });
        stats.connects++;
        if (res.status !== 200) {
          stats.failures++;
          await res.body?.cancel();
          await sleep(ctx.reconnectDelayMs);
          continue;
        }
        const reply = (await res.json()) as PollReply;
        for (const d of reply.discontinuities ?? []) record(ledger, id, channel, { ...d, type: 'discontinuity' });
        for (const p of reply.publications ?? []) record(ledger, id, channel, { ...p, type: 'publication' });
        if (reply.cursor !== undefined) cursor = reply.cursor;
        // The server says when to come back; the nemesis honours it but keeps runs short.
        if ((reply.nextPollMs ?? 0) > 0) await sleep(Math.min(reply.nextPollMs ?? 0, 250));
      } catch {
        stats.failures++;
        if (!closed) await sleep(ctx.reconnectDelayMs);
      }
    }
  })();

  return {
    id,
    transport: 'poll',
    channel,
    stats,
    flap: () => abort?.abort(),
    stall: (ms) => {
      stallUntil = Date.now() + ms;
    },
    close: async () => {
      closed = true;
      abort?.abort();
      await loop;
    },
  };
}
