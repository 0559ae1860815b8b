import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { NatsEngine } from './nats-engine.js';
import { testEngine } from './test-nats.test-helpers.js';

const engines: Array<NatsEngine & { cleanup: () => Promise<void> }> = [];
afterEach(async () => {
  const all = engines.splice(0);
  for (const e of all) await e.close();
  for (const e of all) await e.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counts = (entries: Array<[string, number]>) => new Map(entries);

/** `n` engines on one stream and subject prefix: nodes of one cluster, connected (as a started node is). */
async function nodes(n: number): Promise<Array<NatsEngine['rateCounter']>> {
  const id = randomBytes(4).toString('hex');
  const options = { streamName: `TIDINGS_RL_${id}`, subjectPrefix: `tidings-rl.${id}` };
  const list = Array.from({ length: n }, () => testEngine(options));
  engines.push(...list);
  await Promise.all(list.map((e) => e.rateCounter.add('warm-up', 0, new Map(), 1000)));
  return list.map((e) => e.rateCounter);
}

describe('NatsRateCounter', () => {
  it('sums what every node counted in the window, its own counts included', async () => {
    const [a, b] = (await nodes(2)) as [NatsEngine['rateCounter'], NatsEngine['rateCounter']];
    expect(await a.add('publish:user', 7, counts([['alice', 3]]), 1000)).toEqual(counts([['alice', 3]]));
    await sleep(100);
    // b has counted nothing yet, but heard a: its first answer includes a's 3.
    expect(await b.add('publish:user', 7, counts([['alice', 1]]), 1000)).toEqual(counts([['alice', 4]]));
    await sleep(100);
    expect(await a.add('publish:user', 7, counts([['alice', 1]]), 1000)).toEqual(counts([['alice', 5]]));
  });

  it('keeps scopes and keys apart and forgets a window when the next one starts', async () => {
    const [a, b] = (await nodes(2)) as [NatsEngine['rateCounter'], NatsEngine['rateCounter']];
    await a.add('publish:user', 1, counts([['alice', 2]]), 1000);
    await a.add('command:ip', 1, counts([['10.0.0.1', 9]]), 1000);
    await sleep(100);
    expect(await b.add('publish:user', 1, counts([['bob', 1]]), 1000)).toEqual(counts([['bob', 1]]));
    expect(await b.add('publish:user', 1, counts([['alice', 1]]), 1000)).toEqual(counts([['alice', 3]]));
    // Window 2: nothing of window 1 is carried over, and a late message for window 1 is ignored.
    expect(await b.add('publish:user', 2, counts([['alice', 1]]), 1000)).toEqual(counts([['alice', 1]]));
    await a.add('publish:user', 1, counts([['alice', 50]]), 1000);
    await sleep(100);
    expect(await b.add('publish:user', 2, counts([['alice', 1]]), 1000)).toEqual(counts([['alice', 2]]));
  });

  it('announces running totals: a node heard twice is counted once, at its latest total', async () => {
    const [a, b, c] = await nodes(3);
    if (a === undefined || b === undefined || c === undefined) throw new Error('three nodes');
    await a.add('api:key', 3, counts([['k', 4]]), 1000);
    await a.add('api:key', 3, counts([['k', 4]]), 1000);
    await b.add('api:key', 3, counts([['k', 1]]), 1000);
    await sleep(150);
    expect(await c.add('api:key', 3, counts([['k', 0]]), 1000)).toEqual(counts([['k', 9]]));
  });

  it('rejects as unavailable when NATS cannot be reached, so the limiter enforces alone', async () => {
    const e = testEngine({ servers: '127.0.0.1:1', connectTimeoutMs: 300 });
    engines.push(e);
    await expect(e.rateCounter.add('publish:user', 1, counts([['a', 1]]), 1000)).rejects.toMatchObject({
      code: 'TIDINGS_ERR_UNAVAILABLE',
    });
  });
});
