/** What {@link ChannelStream.accept} decided about one publication. */
export type AcceptResult = 'deliver' | 'duplicate' | 'gap';

/**
 * The position of one channel as the application has seen it, and the rule that keeps delivery
 * strictly in offset order: a publication is delivered only when its offset is exactly the next
 * one; an offset at or below the position is a duplicate (dropped); one above the next is a gap
 * (the caller resubscribes with recovery from the position, which the server fills or answers
 * with `recovered: false`). Publications without an offset (channels without history) are always
 * delivered: the server gives no order to check.
 */
export class ChannelStream {
  #epoch: string | undefined;
  #offset: number | undefined;

  /** The position after the last delivered publication, if known. */
  get position(): { readonly epoch: string; readonly offset: number } | undefined {
    return this.#epoch === undefined || this.#offset === undefined
      ? undefined
      : { epoch: this.#epoch, offset: this.#offset };
  }

  /** Sets the position from a subscribe reply (after its recovered publications were accepted). */
  reset(epoch: string | undefined, offset: number | undefined): void {
    this.#epoch = epoch;
    this.#offset = offset;
  }

  /** Decides about a publication with `offset`; moves the position when it is delivered. */
  accept(offset: number | undefined): AcceptResult {
    if (offset === undefined || offset === 0) return 'deliver';
    if (this.#offset === undefined) {
      this.#offset = offset;
      return 'deliver';
    }
    if (offset <= this.#offset) return 'duplicate';
    if (offset !== this.#offset + 1) return 'gap';
    this.#offset = offset;
    return 'deliver';
  }
}
