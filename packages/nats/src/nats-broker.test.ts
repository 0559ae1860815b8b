import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, fromUtf8, uniqueChannel, utf8, waitFor } from '@tidings/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNatsEngine, type NatsEngine } from './nats-engine.js';
import { republishPosition } from './republish-order.js';
import { assertNatsReachable, NATS_URL, testEngine } from './test-nats.test-helpers.js';

const retain = { size: 1000, ttlMs: 60_000, metaTtlMs: 600_000 };
const cleanups: Array<() => Promise<void>> = [];
const opened: NatsEngine[] = [];

/** `count` engines sharing one stream and prefix, as separate nodes would (one connection each). */
const openShared = async (count: number) => {
  const first = testEngine();
  const prefix = `tidings-test.shared.${first.streamName}`;
  cleanups.push(first.cleanup);
  await first.close();
  const engines = Array.from({ length: count }, () =>
    testEngine({ streamName: first.streamName, subjectPrefix: prefix }),
  );
  return Promise.all(
    engines.map(async (engine) => {
      opened.push(engine);
      const events = new EventRecorder();
      await engine.broker.start(events);
      return { ...engine, events };
    }),
  );
};

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
const codeOf = (err: unknown) => (isTidingsError(err) ? err.code : err);

beforeAll(assertNatsReachable);
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('NatsBroker against the real NATS JetStream', () => {
  it('assigns contiguous offsets with no duplicates under concurrent publishers on separate connections', async () => {
    const [watcher, ...publishers] = await openShared(5);
    if (watcher === undefined) throw new Error('no engines');
    const ch = uniqueChannel('atomic');
    await watcher.broker.subscribe([ch]);
    const perPublisher = 100;
    const acks = (
      await Promise.all(
        publishers.map((p, n) =>
          Promise.all(
            Array.from({ length: perPublisher }, async (_, i) => {
              const data = `n${n}-${i}`;
              return { ...(await p.broker.publish(ch, utf8(data), { history: retain })), data };
            }),
          ),
        ),
      )
    ).flat();
    const total = publishers.length * perPublisher;
    const offsets = acks.map((a) => a.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(acks.map((a) => a.epoch)).size).toBe(1);
    const byOffset = new Map(acks.map((a) => [a.offset, a.data]));
    const h = await watcher.history.history(ch, { limit: -1 });
    expect(h.publications.map((p) => [p.offset, fromUtf8(p.data)])).toEqual(offsets.map((o) => [o, byOffset.get(o)]));
    await waitFor(() => watcher.events.of(ch).length >= total, 5000, `${total} deliveries`);
    expect(watcher.events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual(
      offsets.map((o) => [o, byOffset.get(o)]),
    );
  }, 30_000);

  it('gets from the server what ordering relies on: every republish names its predecessor on the subject', async () => {
    // RepublishOrderer restores stream order from Nats-Sequence / Nats-Last-Sequence; this checks the
    // chain is complete over publications, a live-only publish, a top marker and a removeHistory purge.
    const [engine] = await openShared(1);
    if (engine === undefined) throw new Error('no engine');
    const ch = uniqueChannel('chain');
    const nc = await connect({ servers: NATS_URL });
    const positions: Array<{ seq: number; previous: number }> = [];
    try {
      const sub = nc.subscribe(`tidings-test.shared.${engine.streamName}.r.>`, {
        callback: (err, msg) => {
          const position = err === null ? republishPosition(msg.headers) : undefined;
          if (position !== undefined) positions.push(position);
        },
      });
      await nc.flush();
      await engine.history.history(ch, { limit: 0 }); // writes the epoch marker
      await engine.broker.publish(ch, utf8('a'), { history: retain });
      await engine.broker.publish(ch, utf8('b')); // live only
      await engine.history.removeHistory(ch);
      await engine.broker.publish(ch, utf8('c'), { history: retain });
      await waitFor(() => positions.length >= 5, 5000, '5 republished messages');
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
    expect(positions).toHaveLength(5);
    expect(positions[0]?.previous).toBe(0);
    for (let i = 1; i < positions.length; i++) expect(positions[i]?.previous).toBe(positions[i - 1]?.seq);
  });

  it('answers large history reads (ordered consumer scan) with size, since, limit, reverse and removal, leaving no consumer', async () => {
    const [engine] = await openShared(1);
    if (engine === undefined) throw new Error('no engine');
    const ch = uniqueChannel('large');
    for (let i = 1; i <= 40; i++)
      await engine.broker.publish(ch, utf8(`m${i}`), { history: { size: 30, ttlMs: 60_000 } });
    const offsets = async (query: Parameters<typeof engine.history.history>[1]) =>
      (await engine.history.history(ch, query)).publications.map((p) => p.offset);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    const epoch = (await engine.history.history(ch, { limit: 0 })).epoch;
    expect(await offsets({ limit: -1 })).toEqual(range(11, 40));
    expect(await offsets({ limit: 3, since: { offset: 20, epoch } })).toEqual([21, 22, 23]);
    expect(await offsets({ limit: 3, reverse: true })).toEqual([40, 39, 38]);
    expect(await offsets({ limit: -1, since: { offset: 5, epoch } })).toEqual(range(11, 40));
    const nc = await connect({ servers: NATS_URL });
    try {
      const info = await (await jetstreamManager(nc)).streams.info(engine.streamName);
      expect(info.state.consumer_count).toBe(0);
    } finally {
      await nc.close();
    }
    await engine.history.removeHistory(ch);
    expect(await engine.history.history(ch, { limit: -1 })).toMatchObject({ offset: 40, epoch, publications: [] });
  });

  it('suppresses an idempotency key repeated through another node', async () => {
    const [a, b] = await openShared(2);
    if (a === undefined || b === undefined) throw new Error('no engines');
    const ch = uniqueChannel('idem-nodes');
    const opts = { history: retain, idempotencyKey: 'k' };
    const first = await a.broker.publish(ch, utf8('x'), opts);
    expect(await b.broker.publish(ch, utf8('x'), opts)).toEqual({ ...first, suppressed: true });
    expect(await b.broker.publish(ch, utf8('y'), { ...opts, idempotencyKey: 'k2' })).toMatchObject({ offset: 2 });
    expect((await b.history.history(ch, { limit: 0 })).offset).toBe(2);
  });

  it('suppresses a repeated key even after its publication left history (channel without history)', async () => {
    const [engine] = await openShared(1);
    if (engine === undefined) throw new Error('no engine');
    const ch = uniqueChannel('idem-no-history');
    const first = await engine.broker.publish(ch, utf8('x'), { idempotencyKey: 'k' });
    await engine.broker.publish(ch, utf8('y'));
    await engine.history.removeHistory(ch);
    await engine.broker.publish(ch, utf8('z'));
    expect(await engine.broker.publish(ch, utf8('x'), { idempotencyKey: 'k' })).toEqual({ ...first, suppressed: true });
    expect((await engine.history.history(ch, { limit: 0 })).offset).toBe(3);
  });

  it('starts a new epoch at offset 1 when the channel subject is emptied (stream purged)', async () => {
    const [engine] = await openShared(1);
    if (engine === undefined) throw new Error('no engine');
    const ch = uniqueChannel('epoch');
    await engine.broker.publish(ch, utf8('a'), { history: retain });
    const before = await engine.broker.publish(ch, utf8('b'), { history: retain });
    const nc = await connect({ servers: NATS_URL });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.purge(engine.streamName);
    } finally {
      await nc.close();
    }
    const after = await engine.broker.publish(ch, utf8('c'), { history: retain });
    expect(after.offset).toBe(1);
    expect(after.epoch).not.toBe(before.epoch);
    const h = await engine.history.history(ch, { limit: -1 });
    expect(h).toMatchObject({ offset: 1, epoch: after.epoch });
    expect(h.publications.map((p) => fromUtf8(p.data))).toEqual(['c']);
  });

  it('drops each publication ttlMs after it was stored; the top and epoch stay', async () => {
    const [engine] = await openShared(1);
    if (engine === undefined) throw new Error('no engine');
    const ch = uniqueChannel('ttl');
    const r = await engine.broker.publish(ch, utf8('a'), { history: { size: 10, ttlMs: 100 } });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await engine.history.history(ch, { limit: -1 })).toMatchObject({ ...r, publications: [] });
  });
});

/** A TCP proxy to the test NATS that can drop every connection and refuse new ones. */
class CuttableProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  async open(): Promise<void> {
    const [host, port] = NATS_URL.replace(/^nats:\/\//, '').split(':');
    const server = createServer((client) => {
      const upstream = netConnect(Number(port ?? 4222), host ?? '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
  }

  /** Stops listening and drops every proxied connection. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  }
}

describe('NatsBroker when the connection drops', () => {
  it('fails fast while disconnected, then reports a discontinuity for every subscribed channel and resumes', async () => {
    const proxy = new CuttableProxy();
    await proxy.open();
    const base = testEngine();
    cleanups.push(base.cleanup);
    await base.close();
    const engine = createNatsEngine({
      servers: `127.0.0.1:${proxy.port}`,
      streamName: base.streamName,
      subjectPrefix: `tidings-test.cut.${base.streamName}`,
      storage: 'memory',
      reconnectDelayMs: 100,
    });
    opened.push(engine);
    const gaps: string[][] = [];
    const events = new EventRecorder();
    await engine.broker.start({
      onPublication: (c, p, e) => events.onPublication(c, p, e),
      onJoin: (c, i) => events.onJoin(c, i),
      onLeave: (c, i) => events.onLeave(c, i),
      onDiscontinuity: (chs) => gaps.push([...chs]),
    });
    const [a, b] = [uniqueChannel('cut-a'), uniqueChannel('cut-b')];
    await engine.broker.subscribe([a, b]);
    await engine.broker.publish(a, utf8('before'), { history: retain });
    await waitFor(() => events.of(a).length === 1, 2000, 'the first delivery');
    expect(engine.broker.ready()).toBe(true);

    await proxy.cut();
    await waitFor(() => !engine.broker.ready(), 2000, 'the disconnect to be noticed');
    const t0 = Date.now();
    const err = await rejection(engine.broker.publish(a, utf8('lost'), { history: retain }));
    expect(codeOf(err)).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(100);

    await proxy.open();
    await waitFor(() => gaps.length === 1, 5000, 'the discontinuity signal');
    expect(gaps[0]?.sort()).toEqual([a, b].sort());
    expect(engine.broker.ready()).toBe(true);
    await engine.broker.publish(a, utf8('after'), { history: retain });
    await waitFor(() => events.of(a).length === 2, 2000, 'delivery after the reconnect');
    expect(events.of(a).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ]);
    await engine.close();
    await proxy.cut();
  }, 20_000);
});

describe('NatsBroker when NATS is unreachable', () => {
  const down = () => createNatsEngine({ servers: '127.0.0.1:1', connectTimeoutMs: 300, reconnectDelayMs: 200 });

  it('start rejects with TIDINGS_ERR_UNAVAILABLE quickly, then publishes reject at once', async () => {
    const engine = down();
    opened.push(engine);
    const t0 = Date.now();
    expect(codeOf(await rejection(engine.broker.start(new EventRecorder())))).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(2000);
    const t1 = Date.now();
    const errors = await Promise.all([
      rejection(engine.broker.publish('ch', utf8('x'), { history: retain })),
      rejection(engine.broker.history('ch', { limit: -1 })),
      rejection(engine.presence.get('ch')),
    ]);
    for (const err of errors) expect(codeOf(err)).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t1).toBeLessThan(100);
    expect(engine.broker.ready()).toBe(false);
  });

  it('a publish on a never-started engine rejects with TIDINGS_ERR_UNAVAILABLE within the connect timeout', async () => {
    const engine = down();
    opened.push(engine);
    const t0 = Date.now();
    expect(codeOf(await rejection(engine.broker.publish('ch', utf8('x'))))).toBe(TidingsErrorCode.Unavailable);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
