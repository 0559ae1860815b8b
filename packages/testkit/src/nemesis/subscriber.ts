import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import WebSocket from 'ws';
import type { Ledger } from '../ledger.js';

/** The transports a nemesis subscriber can use. */
export const nemesisTransports = ['ws-json', 'ws-protobuf', 'sse', 'ndjson', 'poll', 'grpc', 'mqtt'] as const;
export type NemesisTransport = (typeof nemesisTransports)[number];

/** What every subscriber adapter is given. */
export interface SubscriberContext {
  /** Ledger id of this subscriber; also its JWT `sub`. */
  readonly id: string;
  readonly channel: string;
  readonly ledger: Ledger;
  /** The base URL to (re)connect to now, e.g. the load balancer's `http://127.0.0.1:P`. */
  readonly base: () => string;
  /** A connection token for `id`. */
  readonly token: () => Promise<string>;
  readonly reconnectDelayMs: number;
  /** An API key of the nodes, for backend transports (gRPC `Subscribe`). */
  readonly apiKey?: string;
}

/**
 * A subscriber that records, in the order its application code sees them, every publication and
 * every explicit discontinuity into the ledger, and reconnects and resumes on its own.
 */
export interface NemesisSubscriber {
  readonly id: string;
  readonly transport: NemesisTransport;
  readonly channel: string;
  /** Connection attempts and failed ones so far. */
  readonly stats: { connects: number; failures: number };
  /** Drops the current connection now (a client-side network flap); it comes back by itself. */
  flap(): void;
  /** Stops reading for `ms` (a slow consumer), where the transport allows it; else a no-op. */
  stall(ms: number): void;
  close(): Promise<void>;
}

const decoder = new TextDecoder();
const payloadId = (data: unknown): string => {
  const value = data instanceof Uint8Array ? (JSON.parse(decoder.decode(data)) as unknown) : data;
  return (value as { id?: string } | null)?.id ?? '';
};

/**
 * The public `centrifuge` SDK (JSON or Protobuf) over WebSocket, subscribed recoverably. A
 * resubscribe that reports `recovered: false` is recorded as a discontinuity: the SDK's own signal.
 */
export function sdkSubscriber(codec: 'json' | 'protobuf', ctx: SubscriberContext): NemesisSubscriber {
  const { id, channel, ledger } = ctx;
  const Sdk = (codec === 'json' ? Centrifuge : CentrifugeProtobuf) as typeof Centrifuge;
  const endpoint = () => `${ctx.base().replace(/^http/, 'ws')}/connection/websocket`;
  const client = new Sdk(endpoint(), {
    websocket: WebSocket,
    getToken: () => ctx.token(),
    minReconnectDelay: ctx.reconnectDelayMs,
    maxReconnectDelay: ctx.reconnectDelayMs * 4,
    timeout: 3000,
  });
  const stats = { connects: 0, failures: 0 };
  client.on('connecting', () => stats.connects++);
  client.on('error', () => stats.failures++);
  ledger.subscribed(id, channel);
  let epoch = '';
  const sub = client.newSubscription(channel, { recoverable: true });
  sub.on('subscribed', (c) => {
    const next = c.streamPosition?.epoch ?? epoch;
    if (c.wasRecovering && !c.recovered) ledger.discontinuity(id, channel, { epoch: next, reason: 'recovered: false' });
    epoch = next;
  });
  sub.on('publication', (c) => {
    ledger.received(id, channel, { offset: c.offset ?? -1, epoch, id: payloadId(c.data) });
  });
  client.connect();
  sub.subscribe();
  return {
    id,
    transport: codec === 'json' ? 'ws-json' : 'ws-protobuf',
    channel,
    stats,
    flap: () => {
      // A disconnect from the client side; connecting again recovers from the SDK's position.
      client.disconnect();
      setTimeout(() => client.connect(), ctx.reconnectDelayMs);
    },
    stall: () => undefined,
    close: async () => {
      sub.removeAllListeners();
      client.disconnect();
    },
  };
}
