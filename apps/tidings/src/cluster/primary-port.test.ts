import type { IpcMessage } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { createPrimaryPort, type WorkerChannel } from './primary-port.js';

function fakeWorker() {
  const written: Array<() => void> = [];
  let onMessage: ((message: unknown) => void) | undefined;
  const channel: WorkerChannel = {
    isConnected: () => true,
    send: (_message, done) => void written.push(done),
    onMessage: (h) => {
      onMessage = h;
    },
  };
  return { channel, written, receive: (m: unknown) => onMessage?.(m) };
}

const pub = (bytes: number): IpcMessage => ({
  ipc: 'pub',
  channel: 'ch',
  epoch: 'e',
  pub: { offset: 1, time: 1, data: new Uint8Array(bytes) },
});

describe('the primary port to a worker', () => {
  it('reports a backlog past its bound and drains at half of it', () => {
    const w = fakeWorker();
    const states: boolean[] = [];
    const port = createPrimaryPort(w.channel, () => undefined, {
      backlogBytes: 10_000,
      onBacklog: (b) => states.push(b),
    });
    let drains = 0;
    port.onDrain?.(() => drains++);
    const results = Array.from({ length: 5 }, () => port.send(pub(2000)));
    expect(results).toEqual([true, true, true, true, false]);
    expect(port.backlogBytes()).toBe(5 * 2256);
    for (const done of w.written.splice(0, 2)) done();
    expect(drains).toBe(0);
    w.written.shift()?.();
    expect(drains).toBe(1);
    expect(port.send(pub(10))).toBe(true);
    expect(states).toEqual([true, false]);
  });

  it('routes IPC engine messages to the engine and the others to the cluster handler', () => {
    const w = fakeWorker();
    const cluster: unknown[] = [];
    const engine: unknown[] = [];
    const port = createPrimaryPort(w.channel, (m) => cluster.push(m));
    port.onMessage((m) => engine.push(m));
    w.receive({ ipc: 'req', id: 1, op: 'ping' });
    w.receive({ tidings: 'hello' });
    w.receive({ unrelated: true });
    expect(engine).toEqual([{ ipc: 'req', id: 1, op: 'ping' }]);
    expect(cluster).toEqual([{ tidings: 'hello' }]);
  });
});
