import { runBrokerConformance, runHistoryModelTest, runPrefixConformance } from '@tidings/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertRedisReachable, deleteKeys, RUN_PREFIX, testEngine } from './test-redis.test-helpers.js';

beforeAll(assertRedisReachable);
afterAll(() => deleteKeys(RUN_PREFIX));

const factory = (shardedPubSub: boolean) => async () => {
  const engine = testEngine({ shardedPubSub });
  return { ...engine, cleanup: () => deleteKeys(engine.prefix) };
};

runBrokerConformance({ name: 'redis engine', create: factory(false), presenceTtlMs: 300 });
runHistoryModelTest({ name: 'redis engine', create: factory(false) });
// Sharded pub/sub (SPUBLISH / SSUBSCRIBE) also works on a standalone Redis 7.
runBrokerConformance({ name: 'redis engine, sharded pub/sub', create: factory(true), presenceTtlMs: 300 });
runHistoryModelTest({ name: 'redis engine, sharded pub/sub', create: factory(true) });

// Wildcard subscriptions: PSUBSCRIBE on plain pub/sub; sharded pub/sub has no patterns.
runPrefixConformance({ name: 'redis engine', create: factory(false) });

it('redis engine, sharded pub/sub: reports prefix subscriptions unavailable and refuses them', async () => {
  const engine = await factory(true)();
  try {
    expect(engine.broker.prefixesAvailable()).toBe(false);
    await expect(engine.broker.subscribePrefixes(['x'])).rejects.toMatchObject({ code: 'TIDINGS_ERR_UNAVAILABLE' });
  } finally {
    await engine.broker.close();
    await engine.presence.close();
    await engine.cleanup();
  }
});
