import { isTidingsError, TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, waitFor } from '@tidings/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../internal/clock.js';
import { createMemoryEngine } from '../memory/memory-engine.js';
import { createIpcEngine, type IpcEngine } from './ipc-engine.js';
import { IpcEngineHost } from './ipc-engine-host.js';
import { errorOf, errorReply, type IpcMessage, type IpcPort } from './messages.js';
import { createIpcPortPair, type IpcPortPair } from './port-pair.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const retain = { size: 100, ttlMs: 60_000 };

const hosts: IpcEngineHost[] = [];

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
});

async function startHost(): Promise<IpcEngineHost> {
  const host = new IpcEngineHost(createMemoryEngine());
  await host.start();
  hosts.push(host);
  return host;
}

async function worker(host: IpcEngineHost): Promise<{ engine: IpcEngine; pair: IpcPortPair; events: EventRecorder }> {
  const pair = createIpcPortPair();
  host.attach(pair.primary);
  const engine = createIpcEngine({ port: pair.worker });
  const events = new EventRecorder();
  await engine.broker.start(events);
  return { engine, pair, events };
}

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (e: unknown) => (isTidingsError(e) ? e.code : e),
  );
}

describe('IPC engine', () => {
  it('gives workers publishing concurrently one offset sequence, delivered to each in the same order', async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    await a.engine.broker.subscribe(['ch']);
    await b.engine.broker.subscribe(['ch']);
    const acks = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).engine.broker.publish('ch', bytes(`m${i}`), { history: retain }),
      ),
    );
    expect(acks.map((r) => r.offset).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await waitFor(() => a.events.of('ch').length === 60 && b.events.of('ch').length === 60, 2000, 'all deliveries');
    const seen = (w: typeof a) => w.events.of('ch').map((d) => [d.pub.offset, text(d.pub.data)]);
    expect(seen(a)).toEqual(seen(b));
    expect(seen(a).map(([offset]) => offset)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(a.events.of('ch')[0]?.pub.data).toBeInstanceOf(Uint8Array);
    const history = await b.engine.history.history('ch', { limit: -1 });
    expect(history.publications.map((p) => [p.offset, text(p.data)])).toEqual(seen(a));
  });

  it('shares presence between workers', async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    await a.engine.presence.add('ch', 'c1', { user: 'u1', client: 'c1' }, 60_000);
    await b.engine.presence.add('ch', 'c2', { user: 'u2', client: 'c2' }, 60_000);
    expect(await a.engine.presence.stats('ch')).toEqual({ numClients: 2, numUsers: 2 });
    expect(Object.keys(await b.engine.presence.get('ch')).sort()).toEqual(['c1', 'c2']);
  });

  it('keeps the engine subscribed to a channel while any worker is, and only relays to those that are', async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    await a.engine.broker.subscribe(['ch']);
    await b.engine.broker.subscribe(['ch']);
    await a.engine.broker.unsubscribe(['ch']);
    await a.engine.broker.publish('ch', bytes('one'));
    await waitFor(() => b.events.of('ch').length === 1, 2000, 'delivery to the subscribed worker');
    await b.engine.broker.unsubscribe(['ch']);
    await b.engine.broker.publish('ch', bytes('two'));
    await a.engine.broker.subscribe(['ch']);
    await b.engine.broker.publish('ch', bytes('three'));
    await waitFor(() => a.events.of('ch').length === 1, 2000, 'delivery after subscribing again');
    expect(a.events.of('ch').map((d) => [d.pub.offset, text(d.pub.data)])).toEqual([[3, 'three']]);
    expect(b.events.of('ch').map((d) => [d.pub.offset, text(d.pub.data)])).toEqual([[1, 'one']]);
  });

  it("removes a detached worker's presence entries and keeps the others'", async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    await a.engine.presence.add('ch', 'a1', { user: 'u1', client: 'a1' }, 60_000);
    await a.engine.presence.add('ch', 'a2', { user: 'u2', client: 'a2' }, 60_000);
    await a.engine.presence.remove('ch', 'a2');
    await b.engine.presence.add('ch', 'b1', { user: 'u3', client: 'b1' }, 60_000);
    a.pair.close();
    expect(Object.keys(await b.engine.presence.get('ch'))).toEqual(['b1']);
  });

  it('stops sending to a detached worker and keeps serving the others', async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    await a.engine.broker.subscribe(['ch']);
    await b.engine.broker.subscribe(['ch']);
    a.pair.close();
    expect(host.workerCount).toBe(1);
    const before = a.pair.sent();
    await b.engine.broker.publish('ch', bytes('after'));
    await waitFor(() => b.events.of('ch').length === 1, 2000, 'delivery to the remaining worker');
    expect(a.pair.sent()).toBe(before);
  });

  it('holds back deliveries to a worker that fell behind and names the channels once it caught up', async () => {
    const host = await startHost();
    const [a, b] = [await worker(host), await worker(host)];
    const gaps: string[][] = [];
    Object.assign(a.events, { onDiscontinuity: (channels: readonly string[]) => void gaps.push([...channels]) });
    await a.engine.broker.subscribe(['ch', 'quiet']);
    await b.engine.broker.subscribe(['ch']);
    a.pair.stall();
    for (let i = 1; i <= 3; i++) await b.engine.broker.publish('ch', bytes(`m${i}`));
    await waitFor(() => b.events.of('ch').length === 3, 2000, 'deliveries to the worker keeping up');
    const sentWhileStalled = a.pair.sent();
    await b.engine.broker.publish('ch', bytes('m4'));
    expect(a.pair.sent()).toBe(sentWhileStalled);
    a.pair.resume();
    await waitFor(() => gaps.length === 1, 2000, 'the gap signal');
    expect(gaps).toEqual([['ch']]);
    // What was queued before the backlog was noticed still arrives; the rest is for history.
    expect(a.events.of('ch').map((d) => d.pub.offset)).toEqual([1]);
    await b.engine.broker.publish('ch', bytes('m5'));
    await waitFor(() => a.events.of('ch').length === 2, 2000, 'deliveries again');
    expect(a.events.of('ch').map((d) => d.pub.offset)).toEqual([1, 5]);
  });

  it('fails fast with TIDINGS_ERR_UNAVAILABLE and reports not ready once the primary is gone', async () => {
    const host = await startHost();
    const a = await worker(host);
    expect(a.engine.broker.ready()).toBe(true);
    const inFlight = a.engine.broker.publish('ch', bytes('x'));
    a.pair.close();
    expect(await codeOf(inFlight)).toBe(TidingsErrorCode.Unavailable);
    expect(a.engine.broker.ready()).toBe(false);
    expect(await codeOf(a.engine.broker.publish('ch', bytes('y')))).toBe(TidingsErrorCode.Unavailable);
    expect(await codeOf(a.engine.history.history('ch', { limit: 0 }))).toBe(TidingsErrorCode.Unavailable);
    expect(await codeOf(a.engine.presence.stats('ch'))).toBe(TidingsErrorCode.Unavailable);
  });

  it('rejects a request the primary leaves unanswered after requestTimeoutMs, and bounds requests in flight', async () => {
    const clock = new FakeClock();
    const silent: IpcPort = { send: () => true, onMessage: () => undefined };
    const engine = createIpcEngine({ port: silent, clock, requestTimeoutMs: 1000, maxPendingRequests: 2 });
    const first = codeOf(engine.broker.publish('ch', bytes('a')));
    const second = codeOf(engine.broker.publish('ch', bytes('b')));
    expect(await codeOf(engine.broker.publish('ch', bytes('c')))).toBe(TidingsErrorCode.Unavailable);
    clock.advance(999);
    clock.advance(500);
    expect(await first).toBe(TidingsErrorCode.Unavailable);
    expect(await second).toBe(TidingsErrorCode.Unavailable);
    // The link itself is still up: only those requests failed.
    expect(engine.broker.ready()).toBe(true);
  });

  it('does not start without a primary', async () => {
    const pair = createIpcPortPair();
    const engine = createIpcEngine({ port: pair.worker });
    pair.close();
    expect(await codeOf(engine.broker.start(new EventRecorder()))).toBe(TidingsErrorCode.Unavailable);
  });

  it('keeps the code of an engine error across the channel', () => {
    const reply = structuredClone(errorReply(7, new TidingsError(TidingsErrorCode.State, 'closed'))) as Extract<
      IpcMessage,
      { ipc: 'err' }
    >;
    const error = errorOf(reply.code, reply.message);
    expect([error.code, error.message]).toEqual([TidingsErrorCode.State, 'closed']);
    const plain = errorReply(8, new Error('boom')) as Extract<IpcMessage, { ipc: 'err' }>;
    expect(plain.code).toBe(TidingsErrorCode.Unavailable);
  });
});
