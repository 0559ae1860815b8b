import { type Disconnect, jsonCodec } from '@tidings/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import type { Transport } from '../transport/types.js';
import { createNode, type TidingsNode } from './node.js';

// Permission escalation through channel names (issue 15): namespace tricks, `#` user limits,
// Unicode look-alikes, NUL. Each must be refused with its documented code, never subscribed.

const enc = new TextEncoder();
const dec = new TextDecoder();

class Recorder implements Transport {
  readonly name = 'memory';
  readonly unidirectional = false;
  readonly codec = jsonCodec;
  bufferedBytes = 0;
  readonly lines: Array<{ id?: number; error?: { code: number }; subscribe?: object }> = [];
  closed: Disconnect | undefined;
  write(frame: Uint8Array): void {
    for (const l of dec.decode(frame).split('\n')) if (l !== '') this.lines.push(JSON.parse(l));
  }
  writeMany(frames: readonly Uint8Array[]): void {
    for (const f of frames) this.write(f);
  }
  close(disconnect: Disconnect): void {
    this.closed = disconnect;
  }
}

const authenticator: Authenticator = {
  async authenticate(req) {
    return req.token
      ? { userId: req.token, anonymous: false, channels: [] }
      : { userId: '', anonymous: true, channels: [] };
  },
  async verifySubscriptionToken() {
    throw new Error('no subscription tokens here');
  },
};

const flush = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

let node: TidingsNode;
beforeAll(async () => {
  node = createNode({
    ...createMemoryEngine(),
    authenticator,
    channels: {
      namespaces: {
        // Only user-limited channels: nobody may subscribe to anything else here.
        private: { allowUserLimitedChannels: true },
        open: { allowSubscribeForClient: true },
      },
    },
  });
  await node.start();
});
afterAll(() => node.shutdown());

/** The subscribe outcome for `channel` as `user`: 'ok', a reply error code, or a close code. */
async function subscribeAs(user: string | undefined, channel: string): Promise<string | number> {
  const t = new Recorder();
  const s = node.openSession(t);
  s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect: user === undefined ? {} : { token: user } })));
  await flush();
  s.handleFrame(enc.encode(JSON.stringify({ id: 2, subscribe: { channel } })));
  await flush();
  const reply = t.lines.find((l) => l.id === 2);
  s.close({ code: 3000, reason: 'done' });
  if (t.closed !== undefined && reply === undefined) return `close ${t.closed.code}`;
  return reply?.error?.code ?? (reply?.subscribe ? 'ok' : 'none');
}

const cases: Array<[user: string | undefined, channel: string, expected: string | number]> = [
  ['alice', 'private:inbox#alice', 'ok'],
  ['alice', 'private:inbox#alice,bob', 'ok'],
  ['alice', 'private:inbox#bob', 103],
  ['alice', 'private:inbox#Alice', 103],
  ['alice', 'private:inbox#', 103],
  ['alice', 'private:inbox', 103],
  ['alice', 'private:inbox#alic', 103],
  ['alice', 'private:inbox#alice ', 107],
  ['alice', 'private:inbox#bob,', 103],
  ['alice', 'private:inbox#alice#bob', 103],
  [undefined, 'private:inbox#', 103],
  [undefined, 'private:inbox#,', 103],
  ['alice', 'private:inbox#\u0430lice', 107],
  ['alice', 'private:inbox#ａlice', 107],
  ['alice', 'private:inbox#alice\u0000', 107],
  ['alice', 'private\u0000:inbox#bob', 107],
  ['alice', 'Private:inbox#bob', 102],
  ['alice', 'PRIVATE:inbox', 102],
  ['alice', 'ｐrivate:inbox', 107],
  ['alice', 'pr\u0456vate:inbox', 107],
  ['alice', 'open:x', 'ok'],
  ['alice', 'open\u200b:x', 107],
  ['alice', 'nope:x', 102],
  ['alice', ':x', 102],
  ['alice', 'inbox', 103],
  ['alice', 'open:x'.padEnd(10_000, 'x'), 107],
  ['alice', '', 107],
];

describe('channel-name escalation battery', () => {
  it(`refuses all ${cases.length} channel names with their documented code`, async () => {
    const results: Array<[string | undefined, string, string | number, string | number]> = [];
    for (const [user, channel, expected] of cases)
      results.push([user, channel, await subscribeAs(user, channel), expected]);
    console.log(`channel escalation battery: ${results.length} names tried`);
    expect(results.filter(([, , got, want]) => got !== want)).toEqual([]);
  });
});
