import { ErrorCode, isTidingsError, type StreamPosition } from '@tidings/protocol';
import type { TidingsNode } from '../../core/node.js';
import type { Clock } from '../../internal/clock.js';
import type { ChangeRateTracker } from './change-rate.js';
import { type PollDiscontinuity, type PollOutcome, publicationJson } from './poll-reply.js';

/**
 * Reads what one poll answers, from history only, with bounded work: at most `limit`
 * publications per reply over all channels, each history read asking for no more than what is
 * left of that budget.
 *
 * Positions start at the client's cursor (or the channel top when the cursor does not name the
 * channel). A cursor of another epoch, ahead of the stream, or older than retained history turns
 * into a `PollDiscontinuity` and the channel's current top: never a silent skip. Every read
 * reports the stream top to the change-rate tracker.
 */
export class PollReader {
  readonly #node: TidingsNode;
  readonly #rates: ChangeRateTracker;
  readonly #clock: Clock;
  readonly #channels: readonly string[];
  readonly #resume: Readonly<Record<string, StreamPosition>>;
  readonly #limit: number;
  readonly #positions = new Map<string, StreamPosition>();
  readonly #publications: string[] = [];
  readonly #discontinuities: PollDiscontinuity[] = [];
  #truncated = false;

  constructor(
    node: TidingsNode,
    rates: ChangeRateTracker,
    clock: Clock,
    channels: readonly string[],
    resume: Readonly<Record<string, StreamPosition>>,
    limit: number,
  ) {
    this.#node = node;
    this.#rates = rates;
    this.#clock = clock;
    this.#channels = channels;
    this.#resume = resume;
    this.#limit = limit;
  }

  /** True once the reply holds a publication or a discontinuity. */
  get moved(): boolean {
    return this.#publications.length > 0 || this.#discontinuities.length > 0;
  }

  /**
   * Places every channel at its starting position.
   * @throws TidingsError wire 108 when a channel's namespace keeps no history.
   */
  async start(): Promise<void> {
    for (const channel of this.#channels) {
      const top = await this.#top(channel);
      const had = this.#resume[channel];
      if (had === undefined) this.#positions.set(channel, top);
      else if (had.epoch !== top.epoch) this.#jump(channel, top, 'epoch_changed');
      else if (had.offset > top.offset) this.#jump(channel, top, 'history_expired');
      else this.#positions.set(channel, { epoch: had.epoch, offset: had.offset });
    }
  }

  /** Adds the publications after the current positions, within what is left of the budget. */
  async collect(): Promise<void> {
    for (const channel of this.#channels) {
      const left = this.#limit - this.#publications.length;
      if (left <= 0) {
        this.#truncated = true;
        return;
      }
      const since = this.#positions.get(channel);
      if (since === undefined) continue;
      try {
        const read = await this.#node.history(channel, { since, limit: left });
        this.#rates.observe(channel, read.epoch, read.offset, this.#clock.now());
        let offset = since.offset;
        for (const pub of read.publications) {
          this.#publications.push(publicationJson(channel, read.epoch, pub));
          offset = pub.offset;
        }
        this.#positions.set(channel, { epoch: read.epoch, offset });
        if (offset < read.offset && read.publications.length >= left) this.#truncated = true;
      } catch (error) {
        if (!isTidingsError(error) || error.wireCode !== ErrorCode.UnrecoverablePosition) throw error;
        const top = await this.#top(channel);
        this.#jump(channel, top, top.epoch !== since.epoch ? 'epoch_changed' : 'history_expired');
      }
    }
  }

  /** The reply; `nextPollMs` is 0 when the budget cut it short (more is waiting). */
  outcome(anonymous: boolean): PollOutcome {
    const advice = Math.min(...this.#channels.map((ch) => this.#rates.advise(ch)));
    return {
      positions: this.#positions,
      publications: this.#publications,
      discontinuities: this.#discontinuities,
      nextPollMs: this.#truncated ? 0 : advice,
      anonymous,
    };
  }

  async #top(channel: string): Promise<StreamPosition> {
    const top = await this.#node.history(channel, { limit: 0 });
    this.#rates.observe(channel, top.epoch, top.offset, this.#clock.now());
    return { epoch: top.epoch, offset: top.offset };
  }

  #jump(channel: string, top: StreamPosition, reason: PollDiscontinuity['reason']): void {
    this.#positions.set(channel, top);
    this.#discontinuities.push({ channel, epoch: top.epoch, offset: top.offset, reason });
  }
}
