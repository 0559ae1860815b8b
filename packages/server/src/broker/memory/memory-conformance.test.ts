import { runBrokerConformance, runHistoryModelTest } from '@tidings/testkit';
import { createMemoryEngine } from './memory-engine.js';

const create = async () => createMemoryEngine();

runBrokerConformance({ name: 'memory engine', create, publishMany: true });
runHistoryModelTest({ name: 'memory engine', create });
