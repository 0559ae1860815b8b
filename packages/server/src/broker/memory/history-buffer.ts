import type { StreamPublication } from '../types.js';

interface BufferEntry {
  readonly pub: StreamPublication;
  /** Clamped so that it never exceeds the expiry of a newer entry (see `push`). */
  expiresAt: number;
}

/** Which slice of a buffer to read. */
export interface BufferSlice {
  /** Only entries with an offset strictly greater than this. */
  readonly after: number;
  /** Maximum entries; negative = no limit. */
  readonly limit: number;
  /** Newest first; the limit then keeps the newest entries. */
  readonly reverse: boolean;
}

/**
 * The retained publications of one channel, oldest first, with increasing offsets: contiguous
 * except where a publication was sent with `skipHistory` (offset assigned, nothing stored).
 *
 * Retention (size and TTL) only ever drops the oldest entries, so the retained range always ends
 * at the newest stored publication. To keep that true when
 * publishes use different TTLs, an entry never outlives a newer one: pushing an entry that
 * expires earlier pulls the expiry of older entries down to it.
 */
export class HistoryBuffer {
  #entries: BufferEntry[] = [];
  #head = 0;

  /** Number of retained entries (expired ones included until `dropExpired` runs). */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Appends `pub` (its offset must exceed the newest entry's), then trims to `size`. */
  push(pub: StreamPublication, expiresAt: number, size: number): void {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) {
      const entry = this.#entries[i]!;
      if (entry.expiresAt <= expiresAt) break;
      entry.expiresAt = expiresAt;
    }
    this.#entries.push({ pub, expiresAt });
    this.#dropFront(Math.max(0, this.length - Math.max(0, size)));
  }

  /** Drops entries whose expiry is at or before `now`; returns how many were dropped. */
  dropExpired(now: number): number {
    let n = 0;
    for (let i = this.#head; i < this.#entries.length && this.#entries[i]!.expiresAt <= now; i++) n++;
    this.#dropFront(n);
    return n;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
  }

  /** The entries selected by `slice`, in the requested order. */
  read(slice: BufferSlice): StreamPublication[] {
    const start = this.#firstIndexAfter(slice.after);
    const end = this.#entries.length;
    const available = end - start;
    const count = slice.limit < 0 ? available : Math.min(slice.limit, available);
    const out: StreamPublication[] = new Array(count);
    if (slice.reverse) {
      for (let i = 0; i < count; i++) out[i] = this.#entries[end - 1 - i]!.pub;
    } else {
      for (let i = 0; i < count; i++) out[i] = this.#entries[start + i]!.pub;
    }
    return out;
  }

  #firstIndexAfter(offset: number): number {
    // Offsets increase but may have holes (publishes with skipHistory), so search rather than
    // compute the index.
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.pub.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #dropFront(n: number): void {
    if (n <= 0) return;
    this.#head += n;
    if (this.#head === this.#entries.length) {
      this.clear();
    } else if (this.#head > 32 && this.#head * 2 > this.#entries.length) {
      // Compact once the dead prefix dominates, so memory tracks the retained size.
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
