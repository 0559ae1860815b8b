import { describe, expect, it } from 'vitest';
import { createJwtAuthenticator } from '../auth/index.js';
import { createMemoryEngine } from '../broker/memory/index.js';
import { canaryChannel } from './channel-options.js';
import { createNode } from './node.js';

const enc = new TextEncoder();

describe('the reserved $tidings namespace', () => {
  it('is open to the canary only and never reaches wildcard subscribers', async () => {
    const node = createNode({
      ...createMemoryEngine(),
      authenticator: createJwtAuthenticator({ keys: [], allowAnonymous: true }),
      channels: { namespaces: { app: {} } },
    });
    await node.start();
    try {
      expect(node.patternsAvailable).toBe(true);
      const seen: string[] = [];
      for (const levels of [['#'], ['+', '+'], ['$tidings', '#']]) {
        await node.subscribePattern(levels, {
          deliverPatternPublication: (channel) => seen.push(`${levels.join('/')} ${channel}`),
          patternDiscontinuity: () => {},
        });
      }
      const canary = canaryChannel('node-1');
      await node.publish(canary, enc.encode('{}'), { source: 'canary', skipHistory: true });
      await node.publish('app:x', enc.encode('{}'));
      await new Promise((r) => setTimeout(r, 10));
      expect(seen.sort()).toEqual(['# app:x', '+/+ app:x']);

      for (const source of ['api', 'client'] as const) {
        await expect(node.publish(canary, enc.encode('{}'), { source })).rejects.toMatchObject({ wireCode: 103 });
      }
      await expect(node.publish('$tidings:nodes', enc.encode('{}'), { source: 'canary' })).rejects.toMatchObject({
        wireCode: 102,
      });
      expect(() => node.rules.resolve('$tidings:canary.bad/name')).toThrow();
    } finally {
      await node.shutdown();
    }
  });
});
