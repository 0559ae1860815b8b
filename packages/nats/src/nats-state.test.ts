import { runStateStoreConformance } from '@tidings/testkit';
import { beforeAll } from 'vitest';
import { assertNatsReachable, testEngine } from './test-nats.test-helpers.js';

beforeAll(assertNatsReachable);

runStateStoreConformance({
  name: 'nats',
  create: async () => {
    const engine = testEngine();
    const state = engine.state;
    return {
      put: state.put.bind(state),
      get: state.get.bind(state),
      snapshot: state.snapshot.bind(state),
      remove: state.remove.bind(state),
      close: async () => {
        await engine.close();
        await engine.cleanup();
      },
    };
  },
});
