import { type Codec, clientError, type Disconnect, ErrorCode, jsonCodec } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/types.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import { FakeClock } from '../internal/clock.js';
import type { Transport } from '../transport/types.js';
import { type DisconnectContext, hookDisconnect, type TidingsHooks } from './hooks.js';
import { createNode, type TidingsNode } from './node.js';
import type { Session } from './session.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const flush = async (turns = 6) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
};

/** A decoded JSON reply, read loosely as the tests inspect many shapes. */
type Json = ReturnType<typeof JSON.parse>;

class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly unidirectional = false;
  readonly codec: Codec = jsonCodec;
  readonly bufferedBytes = 0;
  frames: Uint8Array[] = [];
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
  replies(): Array<Json> {
    return this.frames.flatMap((f) =>
      dec
        .decode(f)
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Json),
    );
  }
  reply(id: number): Json | undefined {
    return this.replies().find((r) => r.id === id);
  }
}

/** Tokens are user ids. */
const authenticator: Authenticator = {
  async authenticate(req) {
    if (req.token === undefined) throw clientError(ErrorCode.Unauthorized);
    return { userId: req.token, anonymous: false, channels: [] };
  },
  async verifySubscriptionToken() {
    throw clientError(ErrorCode.Unauthorized);
  },
};

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.shutdown();
});

async function setup(hooks: TidingsHooks, options: { earlyMs?: number } = {}) {
  const clock = new FakeClock(1_700_000_000_000, { earlyMs: options.earlyMs ?? 0 });
  const engine = createMemoryEngine({ clock });
  // "closed:" allows nothing by itself: only a hook can let a client in.
  const node = createNode({
    ...engine,
    authenticator,
    hooks,
    clock,
    channels: { namespaces: { closed: {}, room: { allowSubscribeForClient: true } } },
    // Pings far apart: the fake clock jumps past expiries without pongs being due.
    client: { pingIntervalMs: 600_000, pongTimeoutMs: 3_000, expiredCloseDelayMs: 5_000 },
  });
  await node.start();
  nodes.push(node);
  const connect = async (connect: object = {}) => {
    const t = new MemoryTransport();
    const s = node.openSession(t, { headers: { cookie: 'sid=abc', 'x-skip': '1' } });
    s.handleFrame(enc.encode(JSON.stringify({ id: 1, connect })));
    await flush();
    return { t, s };
  };
  const send = async (s: Session, cmd: object) => {
    s.handleFrame(enc.encode(JSON.stringify(cmd)));
    await flush();
  };
  return { node, clock, connect, send };
}

describe('TidingsHooks', () => {
  it('onConnecting names the user, attaches info, sends data and subscribes its channels', async () => {
    const seen: string[] = [];
    const { connect, node } = await setup({
      onConnecting: (ctx) => {
        seen.push(String(ctx.requestHeaders.cookie), ctx.transport, ctx.protocol);
        return { user: 'u1', info: enc.encode('{"n":1}'), data: enc.encode('{"hi":true}'), channels: ['closed:feed'] };
      },
    });
    const { t, s } = await connect();
    expect(seen).toEqual(['sid=abc', 'memory', 'json']);
    const r = t.reply(1)?.connect;
    expect(r.data).toEqual({ hi: true });
    expect(Object.keys(r.subs)).toEqual(['closed:feed']);
    expect(s.userId).toBe('u1');
    await node.publish('closed:feed', enc.encode('{"x":1}'));
    await flush();
    expect(t.replies().some((m) => m.push?.pub?.data?.x === 1)).toBe(true);
  });

  it('onConnecting that returns undefined leaves authentication to the token', async () => {
    const { connect } = await setup({ onConnecting: () => undefined });
    const { s } = await connect({ token: 'bob' });
    expect(s.userId).toBe('bob');
  });

  it('a refusal from onConnecting is the reply error; hookDisconnect closes with its code', async () => {
    const refused = await (
      await setup({
        onConnecting: () => {
          throw clientError(ErrorCode.PermissionDenied);
        },
      })
    ).connect();
    expect(refused.t.reply(1)?.error.code).toBe(103);
    expect(refused.s.state).toBe('connecting');
    const closed = await (
      await setup({
        onConnecting: () => {
          throw hookDisconnect(4501, 'banned');
        },
      })
    ).connect();
    expect(closed.t.closed).toEqual({ code: 4501, reason: 'banned' });
  });

  it('a failing onConnecting answers 100 (temporary), so SDKs retry', async () => {
    const { connect } = await setup({
      onConnecting: async () => {
        throw new Error('backend down');
      },
    });
    const { t } = await connect();
    expect(t.reply(1)?.error).toMatchObject({ code: 100, temporary: true });
  });

  it('onSubscribe opens a closed namespace with data and channel info, or refuses with its code', async () => {
    const { connect, send } = await setup({
      keepHeaders: (h) => ({ cookie: String(h.cookie) }),
      onSubscribe: (ctx) => {
        if (ctx.channel === 'closed:no') throw clientError(ErrorCode.PermissionDenied);
        if (ctx.channel === 'room:own') return undefined;
        expect(ctx.headers).toEqual({ cookie: 'sid=abc' });
        expect(ctx.user).toBe('carol');
        return { data: enc.encode('"welcome"') };
      },
    });
    const { t, s } = await connect({ token: 'carol' });
    await send(s, { id: 2, subscribe: { channel: 'closed:yes' } });
    await send(s, { id: 3, subscribe: { channel: 'closed:no' } });
    await send(s, { id: 4, subscribe: { channel: 'room:own' } });
    expect(t.reply(2)?.subscribe.data).toBe('welcome');
    expect(t.reply(3)?.error.code).toBe(103);
    expect(t.reply(4)?.subscribe).toBeDefined();
  });

  it('onPublish may rewrite the data subscribers get, or refuse', async () => {
    const { connect, send } = await setup({
      onSubscribe: () => ({}),
      onPublish: (ctx) => {
        const text = dec.decode(ctx.data);
        if (text.includes('spam')) throw clientError(ErrorCode.PermissionDenied);
        return { data: enc.encode(JSON.stringify({ text: JSON.parse(text).text.toUpperCase(), by: ctx.user })) };
      },
    });
    const { t, s } = await connect({ token: 'dave' });
    await send(s, { id: 2, subscribe: { channel: 'closed:chat' } });
    await send(s, { id: 3, publish: { channel: 'closed:chat', data: { text: 'hello' } } });
    await send(s, { id: 4, publish: { channel: 'closed:chat', data: { text: 'spam' } } });
    expect(t.reply(3)?.publish).toEqual({});
    expect(t.reply(4)?.error.code).toBe(103);
    const pubs = t.replies().filter((m) => m.push?.pub !== undefined);
    expect(pubs.map((m) => m.push.pub.data)).toEqual([{ text: 'HELLO', by: 'dave' }]);
  });

  it('onRpc answers rpc commands; without it rpc is 104', async () => {
    const withRpc = await setup({
      onRpc: (ctx) => ({
        data: enc.encode(JSON.stringify({ method: ctx.method, echo: JSON.parse(dec.decode(ctx.data)) })),
      }),
    });
    const a = await withRpc.connect({ token: 'erin' });
    await withRpc.send(a.s, { id: 2, rpc: { method: 'sum', data: [1, 2] } });
    expect(a.t.reply(2)?.rpc.data).toEqual({ method: 'sum', echo: [1, 2] });
    const without = await setup({});
    const b = await without.connect({ token: 'erin' });
    await without.send(b.s, { id: 2, rpc: { method: 'sum', data: [1] } });
    expect(b.t.reply(2)?.error.code).toBe(104);
  });

  it('onRefresh extends a hook-made connection at expiry, server-side, until it says expired', async () => {
    let calls = 0;
    const { connect, clock } = await setup({
      onConnecting: () => ({ user: 'frank', expireAt: 1_700_000_060 }),
      onRefresh: (ctx) => {
        calls++;
        expect(ctx.user).toBe('frank');
        return calls === 1 ? { expireAt: 1_700_000_120 } : { expired: true };
      },
    });
    const { t } = await connect();
    // The client is not asked for a token: no expires/ttl in the reply.
    expect(t.reply(1)?.connect.expires).toBeUndefined();
    clock.advance(60_000);
    await flush();
    expect(calls).toBe(1);
    expect(t.closed).toBeUndefined();
    clock.advance(60_000);
    await flush();
    expect(calls).toBe(2);
    expect(t.closed?.code).toBe(3005);
  });

  it('onSubRefresh extends a hook-granted subscription until it says expired (2501)', async () => {
    let calls = 0;
    const { connect, send, clock } = await setup({
      onSubscribe: () => ({ expireAt: 1_700_000_030 }),
      onSubRefresh: (ctx) => {
        calls++;
        expect(ctx.channel).toBe('closed:x');
        return calls === 1 ? { expireAt: 1_700_000_060 } : { expired: true };
      },
    });
    const { t, s } = await connect({ token: 'gina' });
    await send(s, { id: 2, subscribe: { channel: 'closed:x' } });
    expect(t.reply(2)?.subscribe.expires).toBeUndefined();
    clock.advance(30_000);
    await flush();
    expect(s.channels()).toEqual(['closed:x']);
    clock.advance(30_000);
    await flush();
    expect(calls).toBe(2);
    expect(s.channels()).toEqual([]);
    expect(t.replies().find((m) => m.push?.unsubscribe)?.push.unsubscribe.code).toBe(2501);
  });

  it('refresh and sub_refresh still run when timers fire a millisecond early, as Node does against Date.now()', async () => {
    const asked: string[] = [];
    const { connect, send, clock } = await setup(
      {
        onConnecting: () => ({ user: 'frank', expireAt: 1_700_000_002 }),
        onRefresh: () => {
          asked.push('refresh');
          return { expireAt: 1_700_000_060 };
        },
        onSubscribe: () => ({ expireAt: 1_700_000_002 }),
        onSubRefresh: (ctx) => {
          asked.push(`sub_refresh ${ctx.channel}`);
          return { expireAt: 1_700_000_060 };
        },
      },
      { earlyMs: 1 },
    );
    const { t, s } = await connect();
    await send(s, { id: 2, subscribe: { channel: 'closed:x' } });
    clock.advance(2_000);
    await flush();
    expect(asked.sort()).toEqual(['refresh', 'sub_refresh closed:x']);
    expect(t.closed).toBeUndefined();
    expect(s.channels()).toEqual(['closed:x']);
  });

  it('a failing onRefresh keeps the connection and asks again a ping interval later', async () => {
    let calls = 0;
    const { connect, clock } = await setup({
      onConnecting: () => ({ user: 'kim', expireAt: 1_700_000_010 }),
      onRefresh: () => {
        calls++;
        if (calls === 1) throw new Error('backend down');
        return { expired: true };
      },
    });
    const { t, s } = await connect();
    clock.advance(10_000);
    await flush();
    expect(calls).toBe(1);
    expect(t.closed).toBeUndefined();
    // Retried after pingIntervalMs (600 s in this setup), not before; the ping due meanwhile is answered.
    clock.advance(591_000);
    await flush();
    expect(calls).toBe(1);
    s.handleFrame(enc.encode('{}'));
    clock.advance(10_000);
    await flush();
    expect(calls).toBe(2);
    expect(t.closed?.code).toBe(3005);
  });

  it('onSubRefresh may disconnect the client with hookDisconnect', async () => {
    const { connect, send, clock } = await setup({
      onSubscribe: () => ({ expireAt: 1_700_000_005 }),
      onSubRefresh: () => {
        throw hookDisconnect(4502, 'subscription revoked');
      },
    });
    const { t, s } = await connect({ token: 'lee' });
    await send(s, { id: 2, subscribe: { channel: 'closed:y' } });
    clock.advance(5_000);
    await flush();
    expect(t.closed).toEqual({ code: 4502, reason: 'subscription revoked' });
  });

  it('onDisconnect hears how a connected client left', async () => {
    const left: DisconnectContext[] = [];
    const { connect } = await setup({ onDisconnect: (ctx) => void left.push(ctx) });
    const { s } = await connect({ token: 'hal' });
    s.close({ code: 4000, reason: 'bye' });
    const other = await connect({ token: 'ivy' });
    other.s.transportClosed();
    await flush();
    expect(left.map((c) => [c.user, c.disconnect?.code])).toEqual([
      ['hal', 4000],
      ['ivy', undefined],
    ]);
  });
});
