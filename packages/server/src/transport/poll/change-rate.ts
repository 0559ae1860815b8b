/** Bounds and smoothing of the advised poll interval. */
export interface ChangeRateOptions {
  /** Shortest interval ever advised (a busy channel). */
  readonly minIntervalMs: number;
  /** Longest interval ever advised (a quiet channel). */
  readonly maxIntervalMs: number;
  /** Time constant of the moving average (an observation `age` ms old weighs e^(-age/smoothingMs)). Default 30 s. */
  readonly smoothingMs?: number;
  /** Channels remembered; the least recently observed is forgotten beyond it. Default 10,000. */
  readonly maxChannels?: number;
}

interface ChannelRate {
  epoch: string;
  offset: number;
  at: number;
  /** Smoothed publications per millisecond; undefined until two observations exist. */
  rate: number | undefined;
}

/**
 * Per-channel change rate, learnt from positions the poll endpoint observes (the stream top at
 * every poll, and live publications while a long-poll waits), and the poll interval it advises.
 *
 * The rate is a time-weighted exponential moving average of Δoffset/Δt: an observation `dt`
 * after the previous one weighs `1 - e^(-dt/smoothingMs)`, so a burst moves it fast and a quiet
 * spell decays it. The advice is the mean time between publications, `1/rate`, clamped to
 * `[minIntervalMs, maxIntervalMs]`: a busy channel is polled often, a quiet one rarely. A channel
 * seen once (rate unknown) gets `minIntervalMs`, so its second poll comes soon and measures it.
 * An epoch change restarts the channel's estimate. Memory is bounded by `maxChannels`.
 */
export class ChangeRateTracker {
  readonly #min: number;
  readonly #max: number;
  readonly #smoothingMs: number;
  readonly #maxChannels: number;
  readonly #channels = new Map<string, ChannelRate>();

  constructor(options: ChangeRateOptions) {
    this.#min = Math.max(0, options.minIntervalMs);
    this.#max = Math.max(this.#min, options.maxIntervalMs);
    this.#smoothingMs = Math.max(1, options.smoothingMs ?? 30_000);
    this.#maxChannels = Math.max(1, options.maxChannels ?? 10_000);
  }

  /** Number of channels currently remembered. */
  get size(): number {
    return this.#channels.size;
  }

  /** Records that `channel` was at `offset` (in `epoch`) at time `now` (ms). */
  observe(channel: string, epoch: string, offset: number, now: number): void {
    const entry = this.#channels.get(channel);
    if (entry === undefined || entry.epoch !== epoch || offset < entry.offset) {
      this.#remember(channel, { epoch, offset, at: now, rate: undefined });
      return;
    }
    const dt = now - entry.at;
    // Same instant: keep the older sample so the next one spans a real interval.
    if (dt <= 0) return;
    const instant = (offset - entry.offset) / dt;
    const weight = 1 - Math.exp(-dt / this.#smoothingMs);
    entry.rate = entry.rate === undefined ? instant : entry.rate + weight * (instant - entry.rate);
    entry.offset = offset;
    entry.at = now;
    this.#remember(channel, entry);
  }

  /** The interval (ms) advised before the next poll of `channel`, within the configured bounds. */
  advise(channel: string): number {
    const rate = this.#channels.get(channel)?.rate;
    if (rate === undefined) return this.#min;
    if (rate <= 0) return this.#max;
    return Math.round(Math.min(this.#max, Math.max(this.#min, 1 / rate)));
  }

  #remember(channel: string, entry: ChannelRate): void {
    // Re-insert so Map order is least recently observed first.
    this.#channels.delete(channel);
    this.#channels.set(channel, entry);
    if (this.#channels.size > this.#maxChannels) {
      const oldest = this.#channels.keys().next().value;
      if (oldest !== undefined) this.#channels.delete(oldest);
    }
  }
}
