import { runStateStoreConformance } from '@tidings/testkit';
import { MemoryStateStore } from './memory-state.js';

runStateStoreConformance({ name: 'memory', create: async () => new MemoryStateStore({ sweepIntervalMs: 50 }) });
