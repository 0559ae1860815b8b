import { KeyedTokenBuckets, TokenBucket } from '../internal/token-bucket.js';
import type { LimitScope } from '../observability/metrics.js';
import type { NodeContext } from './node-context.js';
import { SharedWindowLimiter } from './shared-rate.js';

/** What a command costs against the limits: every command is a command, a publish is also a publish. */
export type RateKind = 'command' | 'publish';

/** Who sent a command: the limits' keys. */
export interface RateSubject {
  /** Empty for anonymous sessions (no per-user bucket then). */
  readonly userId: string;
  /** Remote address; undefined when the edge gave none (no per-IP bucket then). */
  readonly ip: string | undefined;
}

/** One session's own buckets, created when its limits are on. */
export interface ConnectionBuckets {
  command?: TokenBucket;
  publish?: TokenBucket;
}

/**
 * Token-bucket rate limits of client commands and publishes, per connection, per user and per IP
 * address, from `client.*RatePer*` (per second; burst one second's worth; 0 = off). A command
 * over any limit is answered with 111 (too many requests, temporary) and not run; the session
 * stays open. Per-user and per-IP limits are kept per node (see `KeyedTokenBuckets` for their
 * bound), unless the node has a shared counter (`NodeOptions.rateCounter`, given by the Redis
 * engine): then they hold cluster-wide, per second, through `SharedWindowLimiter`.
 */
export class RateLimits {
  readonly #node: NodeContext;
  readonly #users: Record<RateKind, KeyedLimit | undefined>;
  readonly #ips: Record<RateKind, KeyedLimit | undefined>;

  constructor(node: NodeContext) {
    this.#node = node;
    const c = node.client;
    const counter = node.rateCounter;
    const keyed = (rate: number, scope: string): KeyedLimit | undefined => {
      if (rate <= 0) return undefined;
      if (counter === undefined) return new KeyedTokenBuckets(node.clock, rate, rate);
      return new SharedWindowLimiter({ scope, limit: rate, counter, clock: node.clock, logger: node.logger });
    };
    this.#users = {
      command: keyed(c.commandRatePerUser, 'command:user'),
      publish: keyed(c.publishRatePerUser, 'publish:user'),
    };
    this.#ips = { command: keyed(c.commandRatePerIp, 'command:ip'), publish: keyed(c.publishRatePerIp, 'publish:ip') };
  }

  static readonly #byNode = new WeakMap<NodeContext, RateLimits>();

  /** The node's limits, created on first use. */
  static of(node: NodeContext): RateLimits {
    let limits = RateLimits.#byNode.get(node);
    if (limits === undefined) {
      limits = new RateLimits(node);
      RateLimits.#byNode.set(node, limits);
    }
    return limits;
  }

  /**
   * Spends one token of each applicable bucket for `kind`; false when any is empty, counting the
   * refusal in the node's metrics (`limited`) against the first limit that refused.
   */
  allow(kind: RateKind, subject: RateSubject, own: ConnectionBuckets): boolean {
    const c = this.#node.client;
    const now = this.#node.clock.now();
    const rate = kind === 'command' ? c.commandRatePerConnection : c.publishRatePerConnection;
    if (rate > 0) {
      own[kind] ??= new TokenBucket(rate, rate, now);
      if (!own[kind].take(now)) return this.#refused(kind, 'connection');
    }
    const users = this.#users[kind];
    if (users !== undefined && subject.userId !== '' && !take(users, subject.userId))
      return this.#refused(kind, 'user');
    const ips = this.#ips[kind];
    if (ips !== undefined && subject.ip !== undefined && !take(ips, subject.ip)) return this.#refused(kind, 'ip');
    return true;
  }

  #refused(kind: RateKind, scope: LimitScope): false {
    this.#node.metrics?.limited(kind === 'command' ? 'command_rate' : 'publish_rate', scope);
    return false;
  }
}

type KeyedLimit = KeyedTokenBuckets | SharedWindowLimiter;

const take = (limit: KeyedLimit, key: string): boolean =>
  limit instanceof SharedWindowLimiter ? limit.allow(key) : limit.take(key);
