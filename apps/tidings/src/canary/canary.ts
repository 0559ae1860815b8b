import type { Logger } from '@tidings/server';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CanaryPayload, CanaryProbe } from './probe.js';

/** Why a probe missed a round: not connected, the engine refused the publish, or nothing arrived in time. */
export type CanaryFailureReason = 'disconnected' | 'publish' | 'timeout';

/** Options of `Canary`. */
export interface CanaryOptions {
  /** Canary id (the node id): only payloads carrying it count. */
  readonly id: string;
  /** Publishes one canary payload into the canary channel through the engine. */
  readonly publish: (data: Uint8Array) => Promise<unknown>;
  readonly probes: readonly CanaryProbe[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Where the `tidings_canary_*` metrics are registered. */
  readonly registry: Registry;
  readonly logger: Logger;
}

interface Round {
  readonly seq: number;
  readonly started: number;
  readonly waiting: Set<string>;
  timer: NodeJS.Timeout | undefined;
}

const enc = new TextEncoder();

/**
 * The canary: every `intervalMs` it publishes `{ canary: id, seq }` and waits up to `timeoutMs`
 * for each probe to receive it. A receipt observes `tidings_canary_latency_seconds` (publish
 * call → received by the probe) and sets `tidings_canary_last_success_timestamp_seconds`; a
 * miss counts `tidings_canary_failures_total{transport, reason}`. A probe found disconnected
 * counts a failure for that round and is reconnected in the background. Rounds never overlap
 * (`timeoutMs <= intervalMs`); a receipt of an older round is ignored.
 */
export class Canary {
  readonly #options: CanaryOptions;
  readonly #latency: Histogram<'transport'>;
  readonly #lastSuccess: Gauge<'transport'>;
  readonly #failures: Counter<'transport' | 'reason'>;
  readonly #rounds: Counter<'transport'>;
  readonly #failing = new Set<string>();
  #round: Round | undefined;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: CanaryOptions) {
    this.#options = options;
    const registers = [options.registry];
    this.#latency = new Histogram({
      name: 'tidings_canary_latency_seconds',
      help: 'Canary publish → received by the canary client, by transport.',
      labelNames: ['transport'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#lastSuccess = new Gauge({
      name: 'tidings_canary_last_success_timestamp_seconds',
      help: 'Unix time of the last canary publication a transport delivered in time.',
      labelNames: ['transport'],
      registers,
      aggregator: 'min',
    });
    this.#failures = new Counter({
      name: 'tidings_canary_failures_total',
      help: 'Canary rounds a transport missed, by reason (disconnected, publish, timeout).',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.#rounds = new Counter({
      name: 'tidings_canary_rounds_total',
      help: 'Canary rounds, by transport.',
      labelNames: ['transport'],
      registers,
    });
    for (const p of options.probes) {
      this.#rounds.inc({ transport: p.transport }, 0);
      this.#lastSuccess.set({ transport: p.transport }, 0);
      for (const reason of ['disconnected', 'publish', 'timeout'] as const) {
        this.#failures.inc({ transport: p.transport, reason }, 0);
      }
    }
  }

  /** Connects every probe (failures are logged, retried each round) and starts the rounds. */
  async start(): Promise<void> {
    await Promise.all(this.#options.probes.map((p) => this.#connect(p)));
    if (this.#stopped) return;
    this.#timer = setInterval(() => void this.#tick(), this.#options.intervalMs);
    this.#timer.unref();
    void this.#tick();
  }

  /** Stops the rounds and closes every probe. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#round?.timer !== undefined) clearTimeout(this.#round.timer);
    this.#round = undefined;
    for (const p of this.#options.probes) p.close();
  }

  /** Called by the probes for every canary payload they read. */
  received(transport: string, seq: number): void {
    const round = this.#round;
    if (round === undefined || round.seq !== seq || !round.waiting.delete(transport)) return;
    this.#latency.observe({ transport }, (performance.now() - round.started) / 1000);
    this.#lastSuccess.set({ transport }, Date.now() / 1000);
    if (this.#failing.delete(transport)) this.#options.logger.info({ transport }, 'canary delivery recovered');
    if (round.waiting.size === 0 && round.timer !== undefined) clearTimeout(round.timer);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    this.#finish();
    const seq = ++this.#seq;
    const waiting = new Set<string>();
    for (const p of this.#options.probes) {
      this.#rounds.inc({ transport: p.transport });
      if (p.connected) waiting.add(p.transport);
      else {
        this.#fail(p.transport, 'disconnected');
        void this.#connect(p);
      }
    }
    const round: Round = { seq, started: performance.now(), waiting, timer: undefined };
    this.#round = round;
    const payload: CanaryPayload = { canary: this.#options.id, seq };
    try {
      await this.#options.publish(enc.encode(JSON.stringify(payload)));
    } catch (error) {
      if (this.#round !== round) return;
      this.#options.logger.warn({ err: String(error) }, 'canary publish failed');
      for (const t of waiting) this.#fail(t, 'publish');
      waiting.clear();
      return;
    }
    if (this.#round !== round || waiting.size === 0) return;
    const left = this.#options.timeoutMs - (performance.now() - round.started);
    round.timer = setTimeout(() => this.#finish(), Math.max(0, left));
    round.timer.unref();
  }

  /** Ends the current round: every probe still waiting timed out. */
  #finish(): void {
    const round = this.#round;
    if (round === undefined) return;
    this.#round = undefined;
    if (round.timer !== undefined) clearTimeout(round.timer);
    for (const t of round.waiting) this.#fail(t, 'timeout');
  }

  #fail(transport: string, reason: CanaryFailureReason): void {
    this.#failures.inc({ transport, reason });
    if (!this.#failing.has(transport)) {
      this.#failing.add(transport);
      this.#options.logger.warn({ transport, reason }, 'canary delivery failed');
    }
  }

  async #connect(probe: CanaryProbe): Promise<void> {
    try {
      await probe.connect();
    } catch (error) {
      if (!this.#stopped)
        this.#options.logger.debug({ transport: probe.transport, err: String(error) }, 'canary probe cannot connect');
    }
  }
}
