import { runPrefixConformance } from '@tidings/testkit';
import { createIpcEngine } from '../ipc/ipc-engine.js';
import { IpcEngineHost } from '../ipc/ipc-engine-host.js';
import { createIpcPortPair } from '../ipc/port-pair.js';
import { createMemoryEngine } from './memory-engine.js';

runPrefixConformance({ name: 'memory engine', create: async () => createMemoryEngine() });

// `--workers`: the worker side, relayed by a primary-side host on a memory engine.
runPrefixConformance({
  name: 'IPC engine (worker side, memory engine in the primary)',
  create: async () => {
    const host = new IpcEngineHost(createMemoryEngine());
    await host.start();
    const pair = createIpcPortPair();
    host.attach(pair.primary);
    return { ...createIpcEngine({ port: pair.worker }), cleanup: () => host.close() };
  },
});
