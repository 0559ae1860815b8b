// Ledger-recording clients for the multi-node tests: the public centrifuge SDK, a raw WebSocket
// client that does its own recovery (as a minimal third-party client would), and bounded
// publishers posting to one node's /api/publish.
import { signToken } from '@tidings/server';
import { formatLedgerReport, type Ledger, type LedgerReport } from '@tidings/testkit';
import { Centrifuge } from 'centrifuge';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { api, secret, sleep } from './cluster-harness.js';

const token = (sub: string) => signToken({ sub }, { alg: 'HS256', secret }, { expiresInSec: 3600 });

/** A subscriber under test: its ledger id, the number of (re)subscribes, and how to stop it. */
export interface ClusterSubscriber {
  readonly id: string;
  /** Every subscribe outcome, in order (the first has wasRecovering false). */
  readonly subscribes: Array<{ wasRecovering: boolean; recovered: boolean; epoch: string }>;
  /** Clients ids the server gave this subscriber, latest last. */
  readonly clientIds: string[];
  close(): void;
}

/** An SDK subscriber that can also go away (disconnect) and come back (connect, recovering). */
export interface SdkSubscriber extends ClusterSubscriber {
  connect(): void;
}

/** The centrifuge SDK on `wsUrl`, following `channel` recoverably; records into `ledger`. */
export async function sdkSubscriber(
  id: string,
  wsUrl: string,
  channel: string,
  ledger: Ledger,
): Promise<SdkSubscriber> {
  const client = new Centrifuge(wsUrl, {
    websocket: WebSocket,
    token: await token(id),
    minReconnectDelay: 50,
    maxReconnectDelay: 300,
  });
  const result: SdkSubscriber = {
    id,
    subscribes: [],
    clientIds: [],
    close: () => client.disconnect(),
    connect: () => client.connect(),
  };
  ledger.subscribed(id, channel);
  let epoch = '';
  client.on('connected', (ctx) => result.clientIds.push(ctx.client));
  const sub = client.newSubscription(channel, { recoverable: true });
  sub.on('subscribed', (ctx) => {
    const next = ctx.streamPosition?.epoch ?? epoch;
    result.subscribes.push({ wasRecovering: ctx.wasRecovering, recovered: ctx.recovered, epoch: next });
    if (ctx.wasRecovering && !ctx.recovered)
      ledger.discontinuity(id, channel, { epoch: next, reason: 'recovered: false' });
    epoch = next;
  });
  sub.on('publication', (ctx) => {
    const data = ctx.data as { id: string };
    ledger.received(id, channel, { offset: ctx.offset ?? -1, epoch, id: data.id });
  });
  client.connect();
  sub.subscribe();
  await sub.ready(5000);
  return result;
}

interface RawPush {
  channel?: string;
  pub?: { data: { id: string }; offset?: number };
  unsubscribe?: { code: number };
}

interface RawSubscribeResult {
  epoch: string;
  offset?: number;
  recovered?: boolean;
  was_recovering?: boolean;
  publications?: Array<{ data: { id: string }; offset?: number }>;
}

/**
 * A raw `ws` client speaking the JSON protocol: connect, subscribe recoverable; after a close it
 * reconnects (to whatever `wsUrl` reaches) and subscribes with `recover` from its last position;
 * an unsubscribe push with a code in 2500–2999 makes it resubscribe the same way.
 */
export async function rawSubscriber(id: string, wsUrl: string, channel: string, ledger: Ledger) {
  const jwt = await token(id);
  const result: ClusterSubscriber & { closed: boolean } = {
    id,
    subscribes: [],
    clientIds: [],
    closed: false,
    close: () => {
      result.closed = true;
      current?.terminate();
    },
  };
  ledger.subscribed(id, channel);
  let current: WebSocket | undefined;
  let position: { epoch: string; offset: number } | undefined;
  let nextId = 1;
  let firstReady: (() => void) | undefined;
  const ready = new Promise<void>((r) => {
    firstReady = r;
  });

  const record = (pub: { data: { id: string }; offset?: number }, epoch: string) => {
    const offset = pub.offset ?? -1;
    ledger.received(id, channel, { offset, epoch, id: pub.data.id });
    if (position !== undefined && offset > position.offset) position = { epoch, offset };
  };

  const subscribe = (ws: WebSocket) => {
    const recover = position === undefined ? {} : { recover: true, epoch: position.epoch, offset: position.offset };
    ws.send(JSON.stringify({ id: nextId++, subscribe: { channel, recoverable: true, ...recover } }));
  };

  const onReply = (ws: WebSocket, msg: Record<string, unknown>) => {
    if (msg.connect !== undefined) {
      result.clientIds.push((msg.connect as { client: string }).client);
      subscribe(ws);
      return;
    }
    const res = msg.subscribe as RawSubscribeResult | undefined;
    if (res !== undefined) {
      const wasRecovering = res.was_recovering === true;
      const recovered = res.recovered === true;
      result.subscribes.push({ wasRecovering, recovered, epoch: res.epoch });
      if (wasRecovering && !recovered)
        ledger.discontinuity(id, channel, { epoch: res.epoch, reason: 'recovered: false' });
      position = { epoch: res.epoch, offset: position?.epoch === res.epoch ? position.offset : 0 };
      for (const pub of res.publications ?? []) record(pub, res.epoch);
      position = { epoch: res.epoch, offset: Math.max(position.offset, res.offset ?? 0) };
      firstReady?.();
      return;
    }
    if (msg.error !== undefined) {
      // A refused subscribe (e.g. the engine is briefly unavailable): try again shortly.
      setTimeout(() => ws.readyState === WebSocket.OPEN && subscribe(ws), 200);
    }
  };

  const onPush = (ws: WebSocket, push: RawPush) => {
    if (push.channel !== channel || position === undefined) return;
    if (push.pub !== undefined) record(push.pub, position.epoch);
    else if (push.unsubscribe !== undefined && push.unsubscribe.code >= 2500 && push.unsubscribe.code < 3000) {
      subscribe(ws);
    }
  };

  const open = () => {
    if (result.closed) return;
    const ws = new WebSocket(wsUrl);
    current = ws;
    ws.on('open', () => ws.send(JSON.stringify({ id: nextId++, connect: { token: jwt } })));
    ws.on('message', (raw: WebSocket.RawData) => {
      for (const line of raw.toString().split('\n')) {
        if (line === '') continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (Object.keys(msg).length === 0)
          ws.send('{}'); // server ping
        else if (msg.push !== undefined) onPush(ws, msg.push as RawPush);
        else onReply(ws, msg);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!result.closed) setTimeout(open, 100);
    });
  };
  open();
  await Promise.race([
    ready,
    sleep(5000).then(() => {
      throw new Error(`${id}: not subscribed within 5 s`);
    }),
  ]);
  return result;
}

/** What a publisher run saw: acked ids, 503 answers, and any other (unexpected) status. */
export interface PublishRun {
  acked: number;
  unavailable: number;
  other: string[];
  /** `Date.now()` of every 503 and of every 200, for timing checks. */
  readonly okAt: number[];
  readonly unavailableAt: number[];
}

/**
 * `publishers` concurrent loops posting `{ id }` to `base`/api/publish until `stop()` or `count`
 * publishes each; every 200 is recorded as acked in `ledger`. Transport errors and 503 count as
 * unavailable (the publish was not acknowledged); a pause of `pauseMs` follows each publish.
 */
export function startPublishers(
  base: () => string,
  channel: string,
  ledger: Ledger,
  options: { publishers: number; count: number; pauseMs: number; tag: string },
) {
  const run: PublishRun = { acked: 0, unavailable: 0, other: [], okAt: [], unavailableAt: [] };
  let stopped = false;
  const loops = Array.from({ length: options.publishers }, async (_, p) => {
    for (let i = 0; i < options.count && !stopped; i++) {
      const id = `${options.tag}-p${p}-${i}`;
      try {
        const res = await api(base(), 'publish', { channel, data: { id } });
        if (res.status === 200) {
          const ack = res.body.result as { offset: number; epoch: string };
          ledger.acked(channel, { offset: ack.offset, epoch: ack.epoch, id });
          run.acked++;
          run.okAt.push(Date.now());
        } else if (res.status === 503) {
          run.unavailable++;
          run.unavailableAt.push(Date.now());
        } else {
          run.other.push(`${res.status} ${JSON.stringify(res.body)}`);
        }
      } catch {
        run.unavailable++;
        run.unavailableAt.push(Date.now());
      }
      await sleep(options.pauseMs);
    }
  });
  const done = Promise.all(loops).then(() => run);
  return {
    run,
    done,
    stop: async () => {
      stopped = true;
      return done;
    },
  };
}

/**
 * A ledger that also keeps, per subscriber, the ids received in order and the last position,
 * so tests can wait for catch-up and compare orders across subscribers, and every ack with its
 * time.
 */
export function recordingLedger(inner: Ledger) {
  const ids = new Map<string, string[]>();
  const last = new Map<string, { epoch: string; offset: number }>();
  const acks: Array<{ offset: number; epoch: string; id: string; at: number }> = [];
  const ledger: Ledger = {
    acked: (channel, entry) => {
      inner.acked(channel, entry);
      acks.push({ ...entry, at: Date.now() });
    },
    subscribed: (sub, channel) => inner.subscribed(sub, channel),
    discontinuity: (sub, channel, signal) => inner.discontinuity(sub, channel, signal),
    received: (sub, channel, entry) => {
      inner.received(sub, channel, entry);
      const list = ids.get(sub) ?? [];
      list.push(entry.id);
      ids.set(sub, list);
      last.set(sub, { epoch: entry.epoch, offset: entry.offset });
    },
    check: (options) => inner.check(options),
  };
  return { ledger, acks, ids: (sub: string) => ids.get(sub) ?? [], last: (sub: string) => last.get(sub) };
}

/** The channel's top position, read from the engine through `base`/api/history. */
export async function topOf(base: string, channel: string): Promise<{ offset: number; epoch: string }> {
  const res = await api(base, 'history', { channel, limit: 0 });
  expect(res.status).toBe(200);
  return res.body.result as { offset: number; epoch: string };
}

/** lost = duplicated = reordered = silent gaps = offset forks = 0, with the report on failure. */
export function expectClean(report: LedgerReport): void {
  const text = formatLedgerReport(report);
  expect(report.lost, text).toBe(0);
  expect(report.duplicated, text).toBe(0);
  expect(report.reordered, text).toBe(0);
  expect(report.silentGaps, text).toBe(0);
  expect(report.offsetForks, text).toBe(0);
}

/** Every subscriber's last recorded offset is `top`'s (the stream was delivered to the end). */
export function allAtTop(
  rec: ReturnType<typeof recordingLedger>,
  subs: readonly ClusterSubscriber[],
  top: { offset: number },
) {
  return subs.every((s) => rec.last(s.id)?.offset === top.offset);
}

/**
 * Every subscriber resubscribed with recovery at least once (when `mustRecover`), and every such
 * resubscription reported `recovered: true`: the gap was filled from history, not skipped.
 */
export function expectRecoveredFromHistory(subs: readonly ClusterSubscriber[], mustRecover = true): void {
  for (const s of subs) {
    if (mustRecover) expect(s.subscribes.filter((e) => e.wasRecovering).length, s.id).toBeGreaterThan(0);
    expect(
      s.subscribes.every((e) => !e.wasRecovering || e.recovered),
      `${s.id}: ${JSON.stringify(s.subscribes)}`,
    ).toBe(true);
  }
}
