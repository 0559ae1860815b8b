import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChaosFaults, type ChaosProxy, seededChaosSchedule, startChaosProxy } from './chaos-proxy.js';
import { SeededRandom } from './seeded-random.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo server on loopback that records the sizes of the chunks it received. */
async function echo(): Promise<{ port: number; chunks: number[] }> {
  const chunks: number[] = [];
  const server: Server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      chunks.push(d.length);
      s.write(d);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, chunks };
}

async function proxyTo(port: number, downstream: ChaosFaults = {}, upstream: ChaosFaults = {}): Promise<ChaosProxy> {
  const proxy = await startChaosProxy({ target: { host: '127.0.0.1', port }, seed: 42, upstream, downstream });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function client(port: number): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<string> }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  const parts: Buffer[] = [];
  socket.on('data', (d: Buffer) => parts.push(d));
  // A FIN shows as 'end' before 'close'; a reset closes with no 'end' (and usually ECONNRESET).
  let sawEnd = false;
  socket.once('end', () => {
    sawEnd = true;
  });
  const ended = new Promise<string>((resolve) => {
    socket.once('error', () => {});
    socket.once('close', () => resolve(sawEnd ? 'close' : 'reset'));
  });
  await once(socket, 'connect');
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => Buffer.concat(parts), ended };
}

const until = async (check: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('chaos proxy', () => {
  it('forwards both ways intact with latency and jitter, in order', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port, { latencyMs: 5, jitterMs: 20 }, { latencyMs: 5, jitterMs: 20 });
    const c = await client(proxy.port);
    const sent = Buffer.from(Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join(''));
    for (let i = 0; i < sent.length; i += 97) c.socket.write(sent.subarray(i, i + 97));
    await until(() => c.received().length === sent.length, 'the echo');
    expect(c.received().equals(sent)).toBe(true);
    expect(proxy.describe()).toContain('seed=42');
  });

  it('slices upstream bytes one at a time', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port, {}, { sliceBytes: 1 });
    const c = await client(proxy.port);
    c.socket.write('hello world');
    await until(() => c.received().toString() === 'hello world', 'the echo');
    // Slices leave one at a time; the receiving stack may still merge a few.
    expect(target.chunks.length).toBeGreaterThan(1);
  });

  it('caps bandwidth: 4 KB at 20 KB/s takes at least ~150 ms', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port, { bytesPerSec: 20_000 });
    const c = await client(proxy.port);
    const started = performance.now();
    c.socket.write(Buffer.alloc(4000, 1));
    await until(() => c.received().length === 4000, 'the echo');
    // A lower bound only (a loaded machine is slower, never faster).
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('blackholes: the connection stays open and nothing arrives', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port, { blackhole: true });
    const c = await client(proxy.port);
    c.socket.write('anyone?');
    await until(() => target.chunks.length > 0, 'the target to receive');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.received().length).toBe(0);
    expect(c.socket.destroyed).toBe(false);
  });

  it('closes after N bytes, and resets after N bytes', async () => {
    const target = await echo();
    const closing = await proxyTo(target.port, { closeAfterBytes: 5 });
    const c1 = await client(closing.port);
    c1.socket.write('0123456789');
    expect(await c1.ended).toBe('close');
    expect(c1.received().toString()).toBe('01234');
    const resetting = await proxyTo(target.port, { resetAfterBytes: 3 });
    const c2 = await client(resetting.port);
    c2.socket.write('0123456789');
    expect(await c2.ended).toBe('reset');
    expect(c2.received().length).toBeLessThanOrEqual(3);
  });

  it('resetAll resets open connections; setFaults changes the faults of open ones', async () => {
    const target = await echo();
    const proxy = await proxyTo(target.port);
    const c = await client(proxy.port);
    proxy.setFaults({ downstream: { blackhole: true } });
    c.socket.write('x');
    await until(() => target.chunks.length > 0, 'the target to receive');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received().length).toBe(0);
    proxy.resetAll();
    expect(await c.ended).toBe('reset');
    expect(proxy.accepted).toBe(1);
  });
});

describe('seeded chaos schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(seededChaosSchedule(7, 50)).toEqual(seededChaosSchedule(7, 50));
    expect(seededChaosSchedule(7, 50)).not.toEqual(seededChaosSchedule(8, 50));
    const kinds = new Set(seededChaosSchedule(7, 200).map((s) => s.kind));
    expect(kinds.size).toBe(8);
  });

  it('SeededRandom is deterministic and in range', () => {
    const a = new SeededRandom(1);
    const b = new SeededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const x = a.int(3, 9);
      expect(b.int(3, 9)).toBe(x);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(9);
    }
  });
});
