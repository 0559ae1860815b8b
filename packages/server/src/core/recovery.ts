import type { StreamPosition } from '@tidings/protocol';
import type { HistoryReadResult, StreamPublication } from '../broker/types.js';
import type { RecoveryResult } from '../observability/metrics.js';

/** Result of checking a resuming client's position against history. */
export interface RecoveryOutcome {
  /** True only when every publication after the client's position is returned, in order. */
  readonly recovered: boolean;
  /** `recovered`, or why not (the label of the recovery metric). */
  readonly result: RecoveryResult;
  /** The missed publications when recovered; empty otherwise (the client must reload state). */
  readonly publications: readonly StreamPublication[];
  /** The stream top the client is positioned at after this subscribe. */
  readonly position: StreamPosition;
}

/**
 * Decides whether a client at `since` can resume from a history read of the publications after
 * it. Recovery succeeds only when the epochs match and the returned publications are exactly
 * `since.offset + 1 … top`, contiguous: anything else (epoch change, retention dropped some,
 * a client ahead of the stream) is an explicit `recovered: false`, never a silent skip.
 */
export function recoverFromHistory(since: StreamPosition, read: HistoryReadResult): RecoveryOutcome {
  const position: StreamPosition = { offset: read.offset, epoch: read.epoch };
  if (read.epoch !== since.epoch) return { recovered: false, result: 'epoch_changed', publications: [], position };
  if (since.offset > read.offset) return { recovered: false, result: 'position_ahead', publications: [], position };
  const missed = read.publications.filter((p) => p.offset > since.offset);
  let expected = since.offset + 1;
  for (const pub of missed) {
    if (pub.offset !== expected) return { recovered: false, result: 'history_gap', publications: [], position };
    expected++;
  }
  if (expected - 1 !== read.offset) return { recovered: false, result: 'history_gap', publications: [], position };
  return { recovered: true, result: 'recovered', publications: missed, position };
}
