import type { SharedRateCounter } from '@tidings/server';
import { luaScript } from './connection.js';
import type { KeySpace } from './keys.js';
import { asArray } from './replies.js';
import type { RedisCommands } from './transport.js';

/**
 * KEYS: 1 the window's hash. ARGV: 1 its lifetime in ms, then pairs of (key, count to add).
 * Returns the new totals in the order of the pairs. One script, so a window's counts and its
 * expiry are set together.
 */
const ADD_SCRIPT = luaScript(`
local out = {}
for i = 2, #ARGV, 2 do
  out[#out + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
`);

/**
 * Rate-limit counters shared by the nodes of one Redis engine: one hash per (scope, window),
 * kept for two windows. Each `add` is one script call (a few a second per limit and node, not
 * one per command); it fails as unavailable like any engine command when Redis is away, and
 * the limiter then enforces its limit on this node alone.
 */
export class RedisRateCounter implements SharedRateCounter {
  readonly #commands: RedisCommands;
  readonly #keys: KeySpace;

  constructor(commands: RedisCommands, keys: KeySpace) {
    this.#commands = commands;
    this.#keys = keys;
  }

  async add(
    scope: string,
    windowId: number,
    counts: ReadonlyMap<string, number>,
    windowMs: number,
  ): Promise<Map<string, number>> {
    const args = [String(2 * windowMs)];
    const order: string[] = [];
    for (const [key, n] of counts) {
      order.push(key);
      args.push(key, String(n));
    }
    const reply = asArray(await this.#commands.eval(ADD_SCRIPT, [this.#keys.rateWindow(scope, windowId)], args));
    return new Map(order.map((key, i) => [key, Number(reply[i])]));
  }
}
