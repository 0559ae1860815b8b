import { isTidingsError, TidingsErrorCode } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import type { TidingsConfig } from './schema.js';
import { toRedisEngineOptions } from './to-library.js';

function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!isTidingsError(error)) throw error;
    expect(error.code).toBe(TidingsErrorCode.Config);
    return error.message;
  }
  throw new Error('expected a config error');
}

function redisEngine(config: TidingsConfig) {
  if (config.engine.type !== 'redis') throw new Error(`expected engine "redis", got "${config.engine.type}"`);
  return config.engine;
}

describe('engine "redis": sharded pub/sub and Redis Cluster options', () => {
  it('reads clusterNodes and shardedPubSub from env (comma-separated list, boolean)', () => {
    const engine = redisEngine(
      loadConfig({
        env: {
          TIDINGS_ENGINE_TYPE: 'redis',
          TIDINGS_ENGINE_CLUSTER_NODES: 'redis://127.0.0.1:7001,redis://127.0.0.1:7002',
          TIDINGS_ENGINE_SHARDED_PUB_SUB: 'true',
        },
      }),
    );
    expect(engine.clusterNodes).toEqual(['redis://127.0.0.1:7001', 'redis://127.0.0.1:7002']);
    expect(engine.shardedPubSub).toBe(true);
    expect(toRedisEngineOptions(engine, 1000)).toMatchObject({
      cluster: ['redis://127.0.0.1:7001', 'redis://127.0.0.1:7002'],
      shardedPubSub: true,
      idempotencyWindowMs: 1000,
    });
  });

  it('maps cluster: true (url as root node), and leaves both unset by default', () => {
    const clustered = redisEngine(loadConfig({ base: { engine: { type: 'redis', cluster: true } } }));
    expect(toRedisEngineOptions(clustered, 1)).toMatchObject({ url: 'redis://127.0.0.1:6379', cluster: true });
    const plain = toRedisEngineOptions(redisEngine(loadConfig({ base: { engine: { type: 'redis' } } })), 1);
    expect(plain).not.toHaveProperty('cluster');
    expect(plain).not.toHaveProperty('shardedPubSub');
  });

  it('rejects cluster nodes that are not redis:// or rediss:// URLs, and an empty list', () => {
    const bad = configErrorOf(() =>
      loadConfig({ base: { engine: { type: 'redis', clusterNodes: ['redis://127.0.0.1:7001', '127.0.0.1:7002'] } } }),
    );
    expect(bad).toContain('engine.clusterNodes');
    expect(bad).toContain('redis://');
    expect(configErrorOf(() => loadConfig({ base: { engine: { type: 'redis', clusterNodes: [] } } }))).toContain(
      'engine.clusterNodes',
    );
  });

  it('rejects a cluster with shardedPubSub: false (plain PUBLISH is broadcast to every shard)', () => {
    for (const engine of [
      { type: 'redis', cluster: true, shardedPubSub: false },
      { type: 'redis', clusterNodes: ['redis://127.0.0.1:7001'], shardedPubSub: false },
    ]) {
      expect(configErrorOf(() => loadConfig({ base: { engine } }))).toContain('engine.shardedPubSub');
    }
  });

  it('never shows a cluster node password in a config error', () => {
    const message = configErrorOf(() =>
      loadConfig({ base: { engine: { type: 'redis', clusterNodes: ['redis://:hunter2@127.0.0.1:7001', 'nope'] } } }),
    );
    expect(message).not.toContain('hunter2');
  });
});
