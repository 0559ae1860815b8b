import { randomBytes } from 'node:crypto';
import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { EventRecorder, fromUtf8, uniqueChannel, utf8, waitFor } from '@tidings/testkit';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from './redis-engine.js';
import { assertRedisReachable, deleteKeys, REDIS_URL, RUN_PREFIX, testEngine } from './test-redis.test-helpers.js';

const opened: RedisEngine[] = [];
const raws: Array<ReturnType<typeof createClient>> = [];

beforeAll(assertRedisReachable);
afterEach(async () => {
  for (const engine of opened.splice(0)) await engine.close();
  for (const raw of raws.splice(0)) raw.destroy();
});
afterAll(() => deleteKeys(RUN_PREFIX));

async function rawClient(): Promise<ReturnType<typeof createClient>> {
  const raw = createClient({ url: REDIS_URL });
  raws.push(raw);
  await raw.connect();
  return raw;
}

describe('RedisBroker with shardedPubSub on a standalone Redis 7', () => {
  it('publishes, joins and leaves with SPUBLISH on the channel hash-tagged pub/sub name, not with PUBLISH', async () => {
    const engine = testEngine({ shardedPubSub: true });
    opened.push(engine);
    await engine.broker.start(new EventRecorder());
    const ch = uniqueChannel('spublish');
    const name = `${engine.prefix}{${ch}}:c`;
    const sharded: string[] = [];
    const plain: string[] = [];
    const shardedListener = await rawClient();
    const plainListener = await rawClient();
    await shardedListener.sSubscribe(name, (m) => sharded.push(m.slice(0, 1)));
    await plainListener.subscribe(name, (m) => plain.push(m.slice(0, 1)));
    await engine.broker.publish(ch, utf8('x'), { history: { size: 10, ttlMs: 60_000 } });
    await engine.broker.publishJoin(ch, { client: 'c1', user: 'u1' });
    await engine.broker.publishLeave(ch, { client: 'c1', user: 'u1' });
    await waitFor(() => sharded.length === 3, 2000, 'three sharded messages');
    expect(sharded).toEqual(['p', 'j', 'l']);
    // The plain subscriber works: it only ever saw what PUBLISH sent.
    const probe = await rawClient();
    await probe.publish(name, 'marker');
    await waitFor(() => plain.length === 1, 2000, 'the marker on the plain subscriber');
    expect(plain).toEqual(['m']);
  });

  it('resubscribes with SSUBSCRIBE after its pub/sub connection is killed and reports a discontinuity', async () => {
    const clientName = `tidings-test-sharded-${randomBytes(4).toString('hex')}`;
    const engine = testEngine({ shardedPubSub: true, clientName });
    opened.push(engine);
    const gaps: string[][] = [];
    const events = new EventRecorder();
    await engine.broker.start({
      onPublication: (c, p, e) => events.onPublication(c, p, e),
      onJoin: (c, i) => events.onJoin(c, i),
      onLeave: (c, i) => events.onLeave(c, i),
      onDiscontinuity: (chs) => gaps.push([...chs]),
    });
    const ch = uniqueChannel('sharded-resubscribe');
    await engine.broker.subscribe([ch]);
    await engine.broker.publish(ch, utf8('before'));
    await waitFor(() => events.of(ch).length === 1, 2000, 'the first delivery');
    const raw = await rawClient();
    // Only this engine's own subscriber connection, found by its unique name.
    const mine = (await raw.clientList()).filter((c) => c.name === `${clientName}-pubsub`);
    expect(mine).toHaveLength(1);
    await raw.sendCommand(['CLIENT', 'KILL', 'ID', String(mine[0]?.id)]);
    await waitFor(() => gaps.length === 1, 3000, 'the discontinuity signal');
    expect(gaps).toEqual([[ch]]);
    await engine.broker.publish(ch, utf8('after'));
    await waitFor(() => events.of(ch).length === 2, 2000, 'delivery after resubscribing');
    expect(events.of(ch).map((d) => [d.pub.offset, fromUtf8(d.pub.data)])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ]);
  });

  it('rejects cluster mode without sharded pub/sub, and cluster root nodes that are not redis:// URLs', () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'created';
      } catch (err) {
        return isTidingsError(err) ? err.code : err;
      }
    };
    expect(code(() => createRedisEngine({ cluster: ['redis://127.0.0.1:7001'], shardedPubSub: false }))).toBe(
      TidingsErrorCode.Config,
    );
    expect(code(() => createRedisEngine({ cluster: ['http://127.0.0.1:7001'] }))).toBe(TidingsErrorCode.Config);
    expect(code(() => createRedisEngine({ cluster: [] }))).toBe(TidingsErrorCode.Config);
    expect(code(() => createRedisEngine({ cluster: true }))).toBe(TidingsErrorCode.Config);
    expect(code(() => createRedisEngine({}))).toBe(TidingsErrorCode.Config);
  });
});
