import { runBrokerConformance, runHistoryModelTest } from '@tidings/testkit';
import { afterAll, beforeAll } from 'vitest';
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
