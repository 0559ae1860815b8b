import { KeyedTokenBuckets, TokenBucket } from '../internal/token-bucket.js';
import type { NodeContext } from './node-context.js';

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
 * stays open. Per-user and per-IP buckets are kept per node (see `KeyedTokenBuckets` for their
 * bound); several nodes each allow the full rate.
 */
export class RateLimits {
  readonly #node: NodeContext;
  readonly #users: Record<RateKind, KeyedTokenBuckets | undefined>;
  readonly #ips: Record<RateKind, KeyedTokenBuckets | undefined>;

  constructor(node: NodeContext) {
    this.#node = node;
    const c = node.client;
    const keyed = (rate: number) => (rate > 0 ? new KeyedTokenBuckets(node.clock, rate, rate) : undefined);
    this.#users = { command: keyed(c.commandRatePerUser), publish: keyed(c.publishRatePerUser) };
    this.#ips = { command: keyed(c.commandRatePerIp), publish: keyed(c.publishRatePerIp) };
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

  /** Spends one token of each applicable bucket for `kind`; false when any is empty. */
  allow(kind: RateKind, subject: RateSubject, own: ConnectionBuckets): boolean {
    const c = this.#node.client;
    const now = this.#node.clock.now();
    const rate = kind === 'command' ? c.commandRatePerConnection : c.publishRatePerConnection;
    if (rate > 0) {
      own[kind] ??= new TokenBucket(rate, rate, now);
      if (!own[kind].take(now)) return false;
    }
    const users = this.#users[kind];
    if (users !== undefined && subject.userId !== '' && !users.take(subject.userId)) return false;
    const ips = this.#ips[kind];
    return ips === undefined || subject.ip === undefined || ips.take(subject.ip);
  }
}
