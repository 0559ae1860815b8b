import { type Codec, type Disconnect, jsonCodec } from '@tidings/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { Transport } from '../transport/types.js';
import { createNode, type TidingsNode } from './node.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

class RecordingTransport implements Transport {
  readonly name = 'fuzz';
  readonly unidirectional = false;
  readonly codec: Codec = jsonCodec;
  bufferedBytes = 0;
  readonly frames: Uint8Array[] = [];
  closed: Disconnect | undefined;
  write(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
  replyIds(): number[] {
    return this.frames.flatMap((f) =>
      dec
        .decode(f)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { id?: number }).id ?? 0),
    );
  }
}

const authenticator: Authenticator = {
  async authenticate(req) {
    return { userId: req.token ?? '', anonymous: req.token === undefined, channels: [] };
  },
  async verifySubscriptionToken() {
    return {};
  },
};

const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

const channel = fc.oneof(fc.constantFrom('room:a', 'room:#alice', 'nope:x', '', 'room:\u0000', 'room:ａ'), fc.string());
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string(), fc.string()),
);
const body = fc.record(
  { channel, data: anyValue, token: fc.string(), limit: fc.integer(), since: anyValue, recover: fc.boolean() },
  { requiredKeys: [] },
);
const method = fc.constantFrom(
  'subscribe',
  'unsubscribe',
  'publish',
  'history',
  'presence',
  'presence_stats',
  'sub_refresh',
  'refresh',
  'ping',
  'rpc',
  'send',
  'connect',
  'bogus',
);
const command = fc.record(
  {
    id: fc.oneof(fc.nat({ max: 1000 }), fc.constant(0), fc.integer(), fc.string()),
    method,
    body: fc.oneof(body, anyValue),
  },
  { requiredKeys: ['method'] },
);

let node: TidingsNode;
beforeAll(async () => {
  const engine = createMemoryEngine();
  node = createNode({
    ...engine,
    authenticator,
    channels: { namespaces: { room: { historySize: 10, historyTtlMs: 60_000, allowSubscribeForClient: true } } },
  });
  await node.start();
});
afterAll(() => node.shutdown());

describe('session fuzz: every command gets its reply or a close (issue 15)', () => {
  it('holds for random commands on a connected session', async () => {
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(command, async (cmd) => {
        tried++;
        const t = new RecordingTransport();
        const s = node.openSession(t);
        s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: 'alice' } })));
        await flush();
        const frame: Record<string, unknown> = { [cmd.method]: cmd.body ?? {} };
        if (cmd.id !== undefined) frame.id = cmd.id;
        s.handleFrame(enc.encode(JSON.stringify(frame)));
        await flush();
        const id = typeof cmd.id === 'number' ? cmd.id : 0;
        const answered = t.closed !== undefined || (id > 0 && t.replyIds().includes(id));
        // `send` has no reply; an id-less frame of unknown fields decodes to `{}`, a pong.
        const silentOk = (cmd.method === 'send' || (cmd.method === 'bogus' && id === 0)) && t.closed === undefined;
        s.close({ code: 3000, reason: 'done' });
        expect(answered || silentOk, JSON.stringify(frame)).toBe(true);
      }),
      { numRuns: 10_000 },
    );
    console.log(`session fuzz: ${tried} commands tried`);
  }, 120_000);

  it('a command without id (subscribe, rpc, ...) closes with 3501 instead of an id-0 reply nobody awaits', async () => {
    for (const frame of [{ subscribe: { channel: 'room:a' } }, { rpc: { method: 'x' } }, { id: 0, ping: {} }]) {
      const t = new RecordingTransport();
      const s = node.openSession(t);
      s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: { token: 'alice' } })));
      await flush();
      s.handleFrame(enc.encode(JSON.stringify(frame)));
      await flush();
      expect(t.closed?.code, JSON.stringify(frame)).toBe(3501);
      expect(t.replyIds()).toEqual([1]);
    }
  });
});
