import { uniqueChannel } from '@tidings/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertNatsReachable, testEngine } from './test-nats.test-helpers.js';

const engines: Array<ReturnType<typeof testEngine>> = [];

beforeAll(assertNatsReachable);
afterEach(async () => {
  for (const engine of engines.splice(0)) {
    await engine.close();
    await engine.cleanup();
  }
});

describe('NatsPresence against the real NATS JetStream', () => {
  it('lists many entries (past the direct-get scan), shared across engines, ids like __proto__ included', async () => {
    const first = testEngine();
    const second = testEngine({ streamName: first.streamName, subjectPrefix: `tidings-test.p.${first.streamName}` });
    const a = testEngine({ streamName: first.streamName, subjectPrefix: `tidings-test.p.${first.streamName}` });
    engines.push(first, second, a);
    const ch = uniqueChannel('presence-many');
    const ids = [...Array.from({ length: 40 }, (_, i) => `c${i}`), '__proto__'];
    await Promise.all(
      ids.map((id, i) => (i % 2 === 0 ? second : a).presence.add(ch, id, { user: `u${i % 7}`, client: id }, 60_000)),
    );
    const entries = await second.presence.get(ch);
    expect(Object.keys(entries).sort()).toEqual([...ids].sort());
    expect(Object.getPrototypeOf(entries)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(entries, '__proto__')?.value).toMatchObject({ client: '__proto__' });
    expect(await a.presence.stats(ch)).toEqual({ numClients: 41, numUsers: 7 });
    await a.presence.remove(ch, 'c3');
    expect(Object.keys(await second.presence.get(ch))).not.toContain('c3');
  });
});
