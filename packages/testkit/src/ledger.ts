import { DetailLog, emptyCounts, type LedgerReport, type SubscriberCounts } from './ledger-report.js';

/** A publication's place in a stream plus `id`, which identifies its payload. */
export interface LedgerEntry {
  readonly offset: number;
  readonly epoch: string;
  readonly id: string;
}

/** An explicit signal that a subscriber may have missed publications. */
export interface LedgerDiscontinuity {
  /** The epoch the subscriber follows from now on, when the signal names one. */
  readonly epoch?: string;
  /** Why (e.g. `recovered: false`, `unrecoverable position`); used in details. */
  readonly reason: string;
}

/** Options of `Ledger.check`. */
export interface LedgerCheckOptions {
  /**
   * Strict completeness: every known subscriber must have received every acked publication of
   * each of its channels, from the start and whatever signals it got. Default false: only
   * publications after a subscriber's first reception in an epoch count, and those missed
   * behind an explicit signal are `excused`.
   */
  readonly expectAll?: boolean;
  /** Cap on `details` lines; default 200. */
  readonly maxDetails?: number;
}

/**
 * Records what publishers were acknowledged and what subscribers received, then checks the
 * delivery guarantees. Record calls are cheap appends; all analysis happens in `check`, which can
 * run any number of times. A subscriber's channels are those it received on, got a signal for,
 * or was declared `subscribed` to.
 */
export interface Ledger {
  /** A publisher got this acknowledgement for a publish to `channel`. */
  acked(channel: string, entry: LedgerEntry): void;
  /** Declares that `subscriberId` follows `channel`, so it is checked even if it received nothing. */
  subscribed(subscriberId: string, channel: string): void;
  /** `subscriberId` received this publication of `channel` (call in the order received). */
  received(subscriberId: string, channel: string, entry: LedgerEntry): void;
  /** `subscriberId` got an explicit discontinuity signal for `channel`. */
  discontinuity(subscriberId: string, channel: string, signal: LedgerDiscontinuity): void;
  /**
   * Checks everything recorded so far:
   * - lost: acked, not received, and neither before the subscriber's start nor excused;
   * - duplicated: the same position or id received again by the same subscriber;
   * - reordered: an offset lower than the highest already received in that epoch;
   * - silentGaps: a jump past `last + 1` within an epoch with no discontinuity since the last
   *   reception (an epoch change is itself an explicit signal, so it never counts);
   * - offsetForks: one (channel, epoch, offset) carrying two ids, from acks and receptions alike.
   * A late arrival after a jump counts both a silent gap and a reordering.
   */
  check(options?: LedgerCheckOptions): LedgerReport;
}

type TimelineEvent =
  | { readonly kind: 'received'; readonly entry: LedgerEntry }
  | { readonly kind: 'discontinuity'; readonly signal: LedgerDiscontinuity };

/** Creates an empty ledger. */
export function createLedger(): Ledger {
  const acks = new Map<string, LedgerEntry[]>();
  const timelines = new Map<string, Map<string, TimelineEvent[]>>();

  const timeline = (subscriberId: string, channel: string): TimelineEvent[] => {
    let channels = timelines.get(subscriberId);
    if (channels === undefined) {
      channels = new Map();
      timelines.set(subscriberId, channels);
    }
    let events = channels.get(channel);
    if (events === undefined) {
      events = [];
      channels.set(channel, events);
    }
    return events;
  };

  return {
    acked(channel, entry) {
      let list = acks.get(channel);
      if (list === undefined) {
        list = [];
        acks.set(channel, list);
      }
      list.push(copy(entry));
    },
    subscribed(subscriberId, channel) {
      timeline(subscriberId, channel);
    },
    received(subscriberId, channel, entry) {
      timeline(subscriberId, channel).push({ kind: 'received', entry: copy(entry) });
    },
    discontinuity(subscriberId, channel, signal) {
      timeline(subscriberId, channel).push({ kind: 'discontinuity', signal: { ...signal } });
    },
    check(options = {}) {
      return checkLedger(acks, timelines, options);
    },
  };
}

function copy(entry: LedgerEntry): LedgerEntry {
  return { offset: entry.offset, epoch: entry.epoch, id: entry.id };
}

const posKey = (epoch: string, offset: number) => `${epoch}\u0000${offset}`;

function checkLedger(
  acks: Map<string, LedgerEntry[]>,
  timelines: Map<string, Map<string, TimelineEvent[]>>,
  options: LedgerCheckOptions,
): LedgerReport {
  const details = new DetailLog(options.maxDetails ?? 200);
  const uniqueAcks = new Map<string, LedgerEntry[]>();
  let acked = 0;
  for (const [channel, list] of acks) {
    const seen = new Set<string>();
    const unique = list.filter((e) => {
      const key = `${posKey(e.epoch, e.offset)}\u0000${e.id}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    acked += unique.length;
    uniqueAcks.set(channel, unique);
  }

  const offsetForks = countForks(uniqueAcks, timelines, details);
  const perSubscriber: Record<string, SubscriberCounts> = {};
  const totals = emptyCounts();
  for (const [subscriberId, channels] of timelines) {
    const counts = emptyCounts();
    for (const [channel, events] of channels) {
      checkSubscriber(subscriberId, channel, events, uniqueAcks.get(channel) ?? [], options, counts, details);
    }
    perSubscriber[subscriberId] = counts;
    for (const k of Object.keys(totals) as Array<keyof SubscriberCounts>) totals[k] += counts[k];
  }
  const { lost, duplicated, reordered, silentGaps, excused } = totals;
  return {
    ok: lost + duplicated + reordered + silentGaps + offsetForks === 0,
    acked,
    lost,
    duplicated,
    reordered,
    silentGaps,
    offsetForks,
    excused,
    perSubscriber,
    details: details.lines(),
  };
}

function countForks(
  acks: Map<string, LedgerEntry[]>,
  timelines: Map<string, Map<string, TimelineEvent[]>>,
  details: DetailLog,
): number {
  const ids = new Map<string, Map<string, string>>();
  const note = (channel: string, e: LedgerEntry, party: string) => {
    const key = `${channel}\u0000${posKey(e.epoch, e.offset)}`;
    let byId = ids.get(key);
    if (byId === undefined) {
      byId = new Map();
      ids.set(key, byId);
    }
    if (!byId.has(e.id)) byId.set(e.id, party);
  };
  for (const [channel, list] of acks) for (const e of list) note(channel, e, 'publisher');
  for (const [subscriberId, channels] of timelines) {
    for (const [channel, events] of channels) {
      for (const ev of events) if (ev.kind === 'received') note(channel, ev.entry, subscriberId);
    }
  }
  let forks = 0;
  for (const [key, byId] of ids) {
    if (byId.size < 2) continue;
    forks++;
    const [channel, epoch, offset] = key.split('\u0000');
    const seen = [...byId].map(([id, party]) => `${id} (${party})`).join(', ');
    details.add(`offset fork: ${channel} ${epoch}:${offset} carries ${seen}`);
  }
  return forks;
}

interface EpochState {
  first: number;
  last: number;
  /** Open intervals (lo, hi) of offsets skipped right after an explicit signal. */
  readonly excusedRanges: Array<readonly [number, number]>;
  /** The subscriber moved on to another epoch, so anything after `last` here is excused. */
  left: boolean;
}

function checkSubscriber(
  subscriberId: string,
  channel: string,
  events: readonly TimelineEvent[],
  acks: readonly LedgerEntry[],
  options: LedgerCheckOptions,
  counts: SubscriberCounts,
  details: DetailLog,
): void {
  const where = `${subscriberId} ${channel}`;
  const epochs = new Map<string, EpochState>();
  const seenPositions = new Set<string>();
  const seenIds = new Set<string>();
  let current: string | undefined;
  let signalled = false;

  const switchTo = (epoch: string) => {
    if (current !== undefined && current !== epoch) {
      const prev = epochs.get(current);
      if (prev !== undefined) prev.left = true;
    }
    current = epoch;
  };

  for (const ev of events) {
    if (ev.kind === 'discontinuity') {
      counts.discontinuities++;
      signalled = true;
      if (ev.signal.epoch !== undefined) switchTo(ev.signal.epoch);
      continue;
    }
    const { offset, epoch, id } = ev.entry;
    counts.received++;
    const key = posKey(epoch, offset);
    if (seenPositions.has(key) || seenIds.has(id)) {
      counts.duplicated++;
      details.add(`duplicated: ${where} got ${epoch}:${offset} id ${id} again`);
      seenPositions.add(key);
      seenIds.add(id);
      continue;
    }
    seenPositions.add(key);
    seenIds.add(id);
    const changed = epoch !== current;
    switchTo(epoch);
    const state = epochs.get(epoch);
    if (state === undefined) {
      epochs.set(epoch, { first: offset, last: offset, excusedRanges: [], left: false });
    } else if (offset < state.last) {
      counts.reordered++;
      details.add(`reordered: ${where} got ${epoch}:${offset} after ${epoch}:${state.last}`);
    } else {
      if (offset > state.last + 1) {
        if (signalled || changed) {
          state.excusedRanges.push([state.last, offset]);
        } else {
          counts.silentGaps++;
          details.add(`silent gap: ${where} jumped from ${epoch}:${state.last} to ${epoch}:${offset} unsignalled`);
        }
      }
      state.last = offset;
    }
    signalled = false;
  }

  for (const ack of acks) {
    if (seenIds.has(ack.id)) continue;
    const what = `${where} never got ${ack.epoch}:${ack.offset} id ${ack.id}`;
    if (options.expectAll === true) {
      counts.lost++;
      details.add(`lost: ${what}`);
      continue;
    }
    const state = epochs.get(ack.epoch);
    if (state === undefined || ack.offset <= state.first) continue;
    const inRange = state.excusedRanges.some(([lo, hi]) => ack.offset > lo && ack.offset < hi);
    if (inRange || (state.left && ack.offset > state.last)) {
      counts.excused++;
      continue;
    }
    counts.lost++;
    details.add(`lost: ${what}`);
  }
}
