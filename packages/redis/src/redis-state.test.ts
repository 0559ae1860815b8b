import { runStateStoreConformance } from '@tidings/testkit';
import { afterAll, beforeAll } from 'vitest';
import { assertRedisReachable, deleteKeys, RUN_PREFIX, testEngine } from './test-redis.test-helpers.js';

beforeAll(assertRedisReachable);
afterAll(() => deleteKeys(RUN_PREFIX));

runStateStoreConformance({
  name: 'redis',
  create: async () => {
    const engine = testEngine();
    // The state store shares the engine's command connection; the broker is not started.
    return { ...stateOf(engine), close: () => engine.close() };
  },
});

function stateOf(engine: ReturnType<typeof testEngine>) {
  const s = engine.state;
  return {
    put: s.put.bind(s),
    get: s.get.bind(s),
    snapshot: s.snapshot.bind(s),
    remove: s.remove.bind(s),
  };
}
