import type { ClientInfo } from '@tidings/protocol';
import type { Broker, BrokerEventHandler, HistoryStore, PresenceStore, StreamPublication } from '@tidings/server';

/** An engine as the conformance suites see it: fresh, not yet started. */
export interface EngineUnderTest {
  readonly broker: Broker;
  readonly history: HistoryStore;
  readonly presence: PresenceStore;
  /** Called after broker and presence are closed (e.g. flush a Redis database). */
  readonly cleanup?: () => Promise<void>;
}

/** Creates a fresh engine for one test. */
export type EngineFactory = () => Promise<EngineUnderTest>;

/** One delivered publication with the channel and epoch it came with. */
export interface DeliveredPublication {
  readonly channel: string;
  readonly pub: StreamPublication;
  readonly epoch: string;
}

/** A `BrokerEventHandler` that records every delivery in arrival order. */
export class EventRecorder implements BrokerEventHandler {
  readonly publications: DeliveredPublication[] = [];
  readonly joins: Array<{ readonly channel: string; readonly info: ClientInfo }> = [];
  readonly leaves: Array<{ readonly channel: string; readonly info: ClientInfo }> = [];
  /** Publications delivered through `onPrefixPublication` (prefix subscriptions). */
  readonly prefixPublications: DeliveredPublication[] = [];

  onPublication(channel: string, pub: StreamPublication, epoch: string): void {
    this.publications.push({ channel, pub, epoch });
  }

  onPrefixPublication(channel: string, pub: StreamPublication, epoch: string): void {
    this.prefixPublications.push({ channel, pub, epoch });
  }

  onJoin(channel: string, info: ClientInfo): void {
    this.joins.push({ channel, info });
  }

  onLeave(channel: string, info: ClientInfo): void {
    this.leaves.push({ channel, info });
  }

  /** Publications delivered for `channel`, in arrival order. */
  of(channel: string): DeliveredPublication[] {
    return this.publications.filter((p) => p.channel === channel);
  }
}

/**
 * Polls `condition` every few ms until it holds; rejects with `what` after `timeoutMs`. Engines
 * deliver asynchronously, so suites wait for effects rather than assume them.
 */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let channelSeq = 0;

/**
 * A channel name unique to this process run, so suites can share an external server (Redis,
 * NATS) without seeing each other's streams.
 */
export function uniqueChannel(label: string): string {
  channelSeq++;
  return `conformance:${label}-${process.pid}-${Date.now().toString(36)}-${channelSeq}`;
}

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The UTF-8 text of `bytes` (any `Uint8Array`, including a `Buffer`). */
export function fromUtf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** ClientInfo with bytes turned into plain arrays, so engines returning `Buffer` compare equal. */
export function comparableInfo(info: ClientInfo | undefined): unknown {
  if (info === undefined) return undefined;
  return {
    user: info.user,
    client: info.client,
    connInfo: info.connInfo === undefined || info.connInfo.length === 0 ? undefined : Array.from(info.connInfo),
    chanInfo: info.chanInfo === undefined || info.chanInfo.length === 0 ? undefined : Array.from(info.chanInfo),
  };
}
