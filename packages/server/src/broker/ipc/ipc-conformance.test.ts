import { runBrokerConformance, runHistoryModelTest, runStateStoreConformance } from '@tidings/testkit';
import { createMemoryEngine } from '../memory/memory-engine.js';
import { createIpcEngine } from './ipc-engine.js';
import { IpcEngineHost } from './ipc-engine-host.js';
import { createIpcPortPair } from './port-pair.js';

// The worker side under test, wired to a primary-side host on a memory engine through an
// in-process channel that copies messages as cluster IPC does.
const create = async () => {
  const host = new IpcEngineHost(createMemoryEngine());
  await host.start();
  const pair = createIpcPortPair();
  host.attach(pair.primary);
  const engine = createIpcEngine({ port: pair.worker });
  return { ...engine, cleanup: () => host.close() };
};

runBrokerConformance({ name: 'IPC engine (worker side, memory engine in the primary)', create, publishMany: true });
runHistoryModelTest({ name: 'IPC engine (worker side, memory engine in the primary)', create });

runStateStoreConformance({
  name: 'IPC engine state (memory engine in the primary)',
  create: async () => {
    const host = new IpcEngineHost(createMemoryEngine({ sweepIntervalMs: 50 }));
    await host.start();
    const pair = createIpcPortPair();
    host.attach(pair.primary);
    const { state } = createIpcEngine({ port: pair.worker });
    return {
      put: state.put.bind(state),
      get: state.get.bind(state),
      snapshot: state.snapshot.bind(state),
      remove: state.remove.bind(state),
      close: () => host.close(),
    };
  },
});
