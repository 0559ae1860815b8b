/** Counts of one subscriber, over all its channels. */
export interface SubscriberLedgerReport {
  /** Publications recorded as received (duplicates included). */
  readonly received: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
  readonly silentGaps: number;
  /** Acked publications missed behind an explicit signal (a discontinuity or an epoch change). */
  readonly excused: number;
  /** Explicit discontinuity signals recorded. */
  readonly discontinuities: number;
}

/**
 * The outcome of `Ledger.check`. Every count is a number of events, and `details` says which
 * (capped; the last line tells how many were left out).
 */
export interface LedgerReport {
  /** True when lost, duplicated, reordered, silentGaps and offsetForks are all 0. */
  readonly ok: boolean;
  /** Distinct acknowledged publications. */
  readonly acked: number;
  /** Acked publications a subscriber should have received, did not, and was not told about. */
  readonly lost: number;
  /** Receptions of a (channel, epoch, offset) or an id the same subscriber had already received. */
  readonly duplicated: number;
  /** Receptions whose offset went backwards within an epoch. */
  readonly reordered: number;
  /** Offset jumps within an epoch with no discontinuity signal before them. */
  readonly silentGaps: number;
  /** (channel, epoch, offset) positions seen with two or more different ids, by anyone. */
  readonly offsetForks: number;
  /** Missed publications excused by an explicit signal (not failures unless `expectAll`). */
  readonly excused: number;
  readonly perSubscriber: Readonly<Record<string, SubscriberLedgerReport>>;
  readonly details: readonly string[];
}

/** A readable multi-line summary of a report, for assertion messages and logs. */
export function formatLedgerReport(report: LedgerReport): string {
  const lines = [
    `ledger ${report.ok ? 'OK' : 'FAILED'}: acked ${report.acked}, lost ${report.lost}, ` +
      `duplicated ${report.duplicated}, reordered ${report.reordered}, silent gaps ${report.silentGaps}, ` +
      `offset forks ${report.offsetForks}, excused ${report.excused}`,
  ];
  for (const [id, s] of Object.entries(report.perSubscriber)) {
    lines.push(
      `  ${id}: received ${s.received}, lost ${s.lost}, duplicated ${s.duplicated}, reordered ${s.reordered}, ` +
        `silent gaps ${s.silentGaps}, excused ${s.excused}, discontinuities ${s.discontinuities}`,
    );
  }
  for (const d of report.details) lines.push(`  - ${d}`);
  return lines.join('\n');
}

/** Mutable counters used while checking. */
export interface SubscriberCounts {
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  silentGaps: number;
  excused: number;
  discontinuities: number;
}

/** All counters at zero. */
export function emptyCounts(): SubscriberCounts {
  return { received: 0, lost: 0, duplicated: 0, reordered: 0, silentGaps: 0, excused: 0, discontinuities: 0 };
}

/** Collects detail lines up to a cap and counts the rest. */
export class DetailLog {
  readonly #max: number;
  readonly #lines: string[] = [];
  #dropped = 0;

  constructor(max: number) {
    this.#max = Math.max(0, max);
  }

  add(line: string): void {
    if (this.#lines.length < this.#max) this.#lines.push(line);
    else this.#dropped++;
  }

  lines(): string[] {
    return this.#dropped === 0 ? [...this.#lines] : [...this.#lines, `... and ${this.#dropped} more`];
  }
}
