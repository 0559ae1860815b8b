import { ClusterClient, type RedisClusterConnectionOptions } from './cluster-client.js';
import { binaryReplies, bounded, isTimeout, type LuaScript, type Reply, unavailable } from './connection.js';
import { evalScript, type RedisCommands } from './transport.js';

/**
 * The command side on a Redis Cluster: node-redis's cluster client routes each command by its
 * routing key (a script by `KEYS[1]`; every key of a Tidings channel shares the channel's hash
 * tag, see `KeySpace`, so each script runs entirely on the shard owning the channel) and
 * follows MOVED / ASK redirects.
 *
 * Fail fast, as `RedisConnection`: no offline queue (a command for a master whose connection
 * is down rejects at once), every command bounded by the command timeout, all failures
 * `TIDINGS_ERR_UNAVAILABLE`. Stalls: node-redis's cluster client exposes no per-command target
 * node, so a command or keep-alive PING left unanswered marks the whole connection stalled
 * (commands for every shard fail at once, `ready` is false) until every master answers a
 * keep-alive PING again. That is stricter than needed for channels on healthy shards, but
 * never lets commands pile up on a paused shard to run unacknowledged later.
 */
export class RedisClusterConnection implements RedisCommands {
  readonly client: ClusterClient;
  readonly #options: RedisClusterConnectionOptions;
  #refs = 1;
  #stalled = false;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;

  constructor(options: RedisClusterConnectionOptions, name: string) {
    this.#options = options;
    this.client = new ClusterClient(options, name, false);
  }

  /** True while the topology is known, every master's connection is up and none stalled. */
  get ready(): boolean {
    return this.client.up && !this.#stalled;
  }

  /** Connects (retrying until `close`); rejects with `TIDINGS_ERR_UNAVAILABLE` after `waitMs`. */
  async open(waitMs: number): Promise<void> {
    if (!this.client.started) this.#startProbe();
    await this.client.open(waitMs);
  }

  /** Runs one command on the master owning `routingKey` (a random master when absent). */
  async command(args: ReadonlyArray<string | Buffer>, routingKey?: string): Promise<Reply> {
    if (!this.client.started && this.#refs > 0) await this.open(this.#options.connectTimeoutMs);
    const cluster = this.client.cluster;
    if (!cluster.isReady) throw unavailable(`${args[0]}: not connected`);
    if (this.#stalled) throw unavailable(`${args[0]}: no reply from Redis within ${this.#options.commandTimeoutMs} ms`);
    const pending = cluster.sendCommand<Reply>(routingKey, false, [...args], {
      timeout: this.#options.commandTimeoutMs,
      typeMapping: binaryReplies,
    });
    pending.catch(() => undefined);
    try {
      return await bounded(pending, String(args[0]), this.#options.commandTimeoutMs);
    } catch (err) {
      if (isTimeout(err)) this.#stalled = true;
      throw err;
    }
  }

  /** EVALSHA (EVAL on NOSCRIPT: each master caches scripts on its own), routed by `keys[0]`. */
  eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<Reply> {
    return evalScript((a) => this.command(a, keys[0]), script, keys, args);
  }

  retain(): this {
    this.#refs++;
    return this;
  }

  close(): void {
    if (this.#refs === 0) return;
    this.#refs--;
    if (this.#refs > 0) return;
    clearInterval(this.#probe);
    this.client.close();
  }

  #startProbe(): void {
    if (this.#options.pingIntervalMs <= 0) return;
    this.#probe = setInterval(() => {
      if (this.#probing || !this.client.cluster.isReady) return;
      this.#probing = true;
      this.#pingMasters()
        .then((answered) => {
          this.#stalled = !answered;
        })
        .finally(() => {
          this.#probing = false;
        });
    }, this.#options.pingIntervalMs);
    this.#probe.unref();
  }

  /** PINGs every master; false when one left its PING unanswered within the command timeout. */
  async #pingMasters(): Promise<boolean> {
    const cluster = this.client.cluster;
    const outcomes = await Promise.all(
      cluster.masters.map(async (master) => {
        try {
          const client = await bounded(cluster.nodeClient(master), 'connect', this.#options.commandTimeoutMs);
          await bounded(client.sendCommand(['PING']), 'PING', this.#options.commandTimeoutMs);
          return true;
        } catch (err) {
          // A connection that is down (not silent) fails fast by itself and shows in `up`.
          return !isTimeout(err);
        }
      }),
    );
    return outcomes.every(Boolean);
  }
}
