// A ledger-recording backend on the server-streaming `Subscribe` of the typed API (Connect
// protocol over HTTP/1.1, so it passes the nemesis TCP balancer like every other transport). It
// resumes from the position of the last publication it saw, records every `Discontinuity`, and
// reconnects by itself after any failure.
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { ApiService } from '@tidings/connect';
import type { NemesisSubscriber, SubscriberContext } from './subscriber.js';

const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const payloadId = (data: Uint8Array): string => {
  try {
    return (JSON.parse(decoder.decode(data)) as { id?: string } | null)?.id ?? '';
  } catch {
    return '';
  }
};

/** `ctx.apiKey` is required: a backend stream logs in with an API key. */
export function grpcSubscriber(ctx: SubscriberContext): NemesisSubscriber {
  const { id, channel, ledger } = ctx;
  const apiKey = ctx.apiKey;
  if (apiKey === undefined) throw new Error('grpcSubscriber: SubscriberContext.apiKey is required');
  const stats = { connects: 0, failures: 0 };
  let position: { offset: bigint; epoch: string } | undefined;
  let abort: AbortController | undefined;
  let closed = false;
  let stallUntil = 0;
  ledger.subscribed(id, channel);

  const follow = async (signal: AbortSignal): Promise<void> => {
    const client = createClient(ApiService, createConnectTransport({ baseUrl: ctx.base(), httpVersion: '1.1' }));
    const positions = position === undefined ? {} : { [channel]: position };
    // Publications replayed before `subscribed` are of the epoch we asked to resume in.
    let epoch = position?.epoch ?? '';
    const stream = client.subscribe({ channels: [channel], positions }, { headers: { 'x-api-key': apiKey }, signal });
    for await (const m of stream) {
      while (Date.now() < stallUntil && !signal.aborted) await sleep(50);
      if (m.channel !== channel) continue;
      const event = m.event;
      if (event.case === 'publication') {
        ledger.received(id, channel, { offset: Number(event.value.offset), epoch, id: payloadId(event.value.data) });
        position = { offset: event.value.offset, epoch };
      } else if (event.case === 'discontinuity') {
        const current = event.value.current;
        ledger.discontinuity(id, channel, {
          ...(current === undefined ? {} : { epoch: current.epoch }),
          reason: 'grpc Discontinuity',
        });
      } else if (event.case === 'subscribed') {
        epoch = event.value.epoch;
        position = { offset: event.value.offset, epoch };
      }
    }
  };

  const loop = (async () => {
    while (!closed) {
      abort = new AbortController();
      stats.connects++;
      try {
        await follow(abort.signal);
      } catch {
        if (!closed) stats.failures++;
      }
      if (!closed) await sleep(ctx.reconnectDelayMs);
    }
  })();

  return {
    id,
    transport: 'grpc',
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
