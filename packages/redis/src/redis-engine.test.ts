import { runBrokerConformance, runHistoryModelTest } from '@tidings/testkit';
import { afterAll, beforeAll } from 'vitest';
import { assertRedisReachable, deleteKeys, RUN_PREFIX, testEngine } from './test-redis.test-helpers.js';

beforeAll(assertRedisReachable);
afterAll(() => deleteKeys(RUN_PREFIX));

const create = async () => {
  const engine = testEngine();
  return { ...engine, cleanup: () => deleteKeys(engine.prefix) };
};

runBrokerConformance({ name: 'redis engine', create, presenceTtlMs: 300 });
runHistoryModelTest({ name: 'redis engine', create });
