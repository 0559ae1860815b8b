import { ErrorCode } from '@tidings/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/jwt-authenticator.js';
import { createMemoryEngine } from '../broker/memory/memory-engine.js';
import type { Broker, BrokerPublishItem } from '../broker/types.js';
import type { SpanAttributes, TraceHooks } from '../observability/tracing.js';
import { canaryChannel } from './channel-options.js';
import { createNode, type TidingsNode } from './node.js';

const nodes: TidingsNode[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.shutdown();
});

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A node on the memory engine whose broker records every publishMany call. */
async function start(options: { withPublishMany?: boolean; tracing?: TraceHooks } = {}) {
  const engine = createMemoryEngine();
  const b = engine.broker;
  const calls: BrokerPublishItem[][] = [];
  const singles: string[] = [];
  const broker: Broker = {
    start: (handler) => b.start(handler),
    subscribe: (chs) => b.subscribe(chs),
    unsubscribe: (chs) => b.unsubscribe(chs),
    publish: (ch, data, opts) => {
      singles.push(ch);
      return b.publish(ch, data, opts);
    },
    ...(options.withPublishMany === false
      ? {}
      : {
          publishMany: (items: readonly BrokerPublishItem[]) => {
            calls.push([...items]);
            return b.publishMany(items);
          },
        }),
    publishJoin: (ch, info) => b.publishJoin(ch, info),
    publishLeave: (ch, info) => b.publishLeave(ch, info),
    close: () => b.close(),
  };
  const node = createNode({
    broker,
    history: engine.history,
    presence: engine.presence,
    authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
    channels: { namespaces: { chat: { historySize: 10, historyTtlMs: 60_000 } } },
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
  });
  await node.start();
  nodes.push(node);
  calls.length = 0;
  singles.length = 0;
  return { node, calls, singles };
}

describe('TidingsNode.publishMany', () => {
  it('sends the valid items in one broker call, in order, with namespace retention; bad ones fail in place', async () => {
    const { node, calls, singles } = await start();
    const outcomes = await node.publishMany([
      { channel: 'chat:a', data: utf8('1') },
      { channel: 'nope:a', data: utf8('unknown namespace') },
      { channel: canaryChannel('n1'), data: utf8('reserved') },
      { channel: 'chat:a', data: utf8('2'), options: { skipHistory: true } },
      { channel: 'chat:b', data: utf8('3'), options: { idempotencyKey: 'k' } },
    ]);
    expect(calls.map((items) => items.map((i) => i.channel))).toEqual([['chat:a', 'chat:a', 'chat:b']]);
    expect(calls[0]?.map((i) => i.options?.history?.size)).toEqual([10, 0, 10]);
    expect(calls[0]?.[2]?.options?.idempotencyKey).toBe('k');
    expect(singles).toEqual([]);
    expect(outcomes.map((o) => (o.ok ? o.result.offset : 'failed'))).toEqual([1, 'failed', 'failed', 2, 1]);
    const codeOf = (i: number) => {
      const o = outcomes[i];
      return o !== undefined && !o.ok ? (o.error as { wireCode?: number }).wireCode : undefined;
    };
    expect(codeOf(1)).toBe(ErrorCode.UnknownChannel);
    expect(codeOf(2)).toBe(ErrorCode.PermissionDenied);
  });

  it('falls back to publish one at a time, in order, when the broker has no publishMany', async () => {
    const { node, calls, singles } = await start({ withPublishMany: false });
    const outcomes = await node.publishMany([
      { channel: 'chat:c', data: utf8('1') },
      { channel: 'chat:c', data: utf8('2') },
    ]);
    expect(calls).toEqual([]);
    expect(singles).toEqual(['chat:c', 'chat:c']);
    expect(outcomes.map((o) => (o.ok ? o.result.offset : 'failed'))).toEqual([1, 2]);
  });

  it('opens one engine publish span for the batch when tracing is on', async () => {
    const spans: Array<{ name: string; attributes: SpanAttributes }> = [];
    const tracing: TraceHooks = {
      span: (name, attributes, fn) => {
        spans.push({ name, attributes });
        return fn();
      },
      spanSync: (_name, _attributes, fn) => fn(),
    };
    const { node } = await start({ tracing });
    await node.publishMany([
      { channel: 'chat:d', data: utf8('1') },
      { channel: 'chat:e', data: utf8('2') },
    ]);
    expect(spans).toEqual([
      {
        name: 'tidings.engine.publish',
        attributes: {
          'messaging.destination.name': 'chat:d',
          'messaging.batch.message_count': 2,
          'tidings.source': 'api',
        },
      },
    ]);
  });
});
