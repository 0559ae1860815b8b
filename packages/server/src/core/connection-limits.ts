import type { NodeContext } from './node-context.js';

/**
 * Connected sessions per user and per IP address on one node, bounded by
 * `client.maxConnectionsPerUser` and `client.maxConnectionsPerIp` (0 = off). A connect that
 * would pass a bound is refused with disconnect 3504 (connection limit). Only sessions that
 * completed connect count; a socket that never authenticates is bounded by
 * `client.connectTimeoutMs` (3502) instead. Counts are dropped at zero, so the maps hold only
 * keys with live connections.
 */
export class ConnectionLimits {
  readonly #node: NodeContext;
  readonly #users = new Map<string, number>();
  readonly #ips = new Map<string, number>();

  constructor(node: NodeContext) {
    this.#node = node;
  }

  static readonly #byNode = new WeakMap<NodeContext, ConnectionLimits>();

  /** The node's counters, created on first use. */
  static of(node: NodeContext): ConnectionLimits {
    let limits = ConnectionLimits.#byNode.get(node);
    if (limits === undefined) {
      limits = new ConnectionLimits(node);
      ConnectionLimits.#byNode.set(node, limits);
    }
    return limits;
  }

  /**
   * Counts a connection of `userId` (empty: anonymous, not counted per user) from `ip`; false,
   * counting nothing (but the refusal, in the node's metrics), when a bound is reached. Each true must be paired with one `release`.
   */
  acquire(userId: string, ip: string | undefined): boolean {
    const { maxConnectionsPerUser: perUser, maxConnectionsPerIp: perIp } = this.#node.client;
    if (perUser > 0 && userId !== '' && (this.#users.get(userId) ?? 0) >= perUser) {
      this.#node.metrics?.limited('connections', 'user');
      return false;
    }
    if (perIp > 0 && ip !== undefined && (this.#ips.get(ip) ?? 0) >= perIp) {
      this.#node.metrics?.limited('connections', 'ip');
      return false;
    }
    if (userId !== '') this.#users.set(userId, (this.#users.get(userId) ?? 0) + 1);
    if (ip !== undefined) this.#ips.set(ip, (this.#ips.get(ip) ?? 0) + 1);
    return true;
  }

  /** Releases what one successful `acquire` with the same arguments counted. */
  release(userId: string, ip: string | undefined): void {
    if (userId !== '') decrement(this.#users, userId);
    if (ip !== undefined) decrement(this.#ips, ip);
  }

  /** Connections counted for a user / an IP address (for tests and metrics). */
  count(kind: 'user' | 'ip', key: string): number {
    return (kind === 'user' ? this.#users : this.#ips).get(key) ?? 0;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
