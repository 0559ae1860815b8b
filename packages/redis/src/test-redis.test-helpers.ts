import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createRedisEngine, type RedisEngine, type RedisEngineOptions } from './redis-engine.js';

/** The Redis every test here runs against (.ci/run starts it). */
export const REDIS_URL = process.env.TIDINGS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix unique to this test file run, so tests never touch anyone else's keys. */
export const RUN_PREFIX = `tidings-test:${randomBytes(6).toString('hex')}:`;

let engineSeq = 0;

/** A fresh sub-prefix of `RUN_PREFIX`. */
export function testPrefix(): string {
  return `${RUN_PREFIX}${++engineSeq}:`;
}

/** A fresh engine on the test Redis, under `options.prefix` or a fresh sub-prefix of `RUN_PREFIX`. */
export function testEngine(options: Partial<RedisEngineOptions> = {}): RedisEngine & { prefix: string } {
  const prefix = options.prefix ?? testPrefix();
  return { ...createRedisEngine({ url: REDIS_URL, ...options, prefix }), prefix };
}

/** Deletes every key under `prefix` (SCAN + UNLINK; never FLUSH). */
export async function deleteKeys(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

/** Fails (never skips) when the test Redis is not reachable. */
export async function assertRedisReachable(): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${REDIS_URL}; .ci/run starts it (${String(err)})`);
  } finally {
    if (client.isOpen) client.destroy();
  }
}
