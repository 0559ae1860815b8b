import { runBrokerConformance, runHistoryModelTest, runPrefixConformance } from '@tidings/testkit';
import { beforeAll } from 'vitest';
import { assertNatsReachable, testEngine } from './test-nats.test-helpers.js';

beforeAll(assertNatsReachable);

runBrokerConformance({ name: 'nats engine', create: async () => testEngine(), presenceTtlMs: 300 });
runHistoryModelTest({ name: 'nats engine', create: async () => testEngine() });
runPrefixConformance({ name: 'nats engine', create: async () => testEngine() });
