import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

/** The counts behind the closing line. */
export interface RunCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts a finished run so that `failed` is never 0 when the run failed: every failed test,
 * every error a suite or module reported outside a test (a failing `beforeAll`/`afterAll`, an
 * import or collection error), every unhandled error, and — as a last resort for any other cause
 * vitest fails a run for — one failure when the run ended as failed with nothing else counted.
 */
export function countRun(
  modules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError>,
  reason: TestRunEndReason,
): RunCounts {
  const counts: RunCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const mod of modules) {
    let moduleFailures = 0;
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed++;
      else if (state === 'failed') moduleFailures++;
      else counts.skipped++;
    }
    // Hook errors land on the suite or the module, not on the tests (which end up skipped).
    moduleFailures += mod.errors().length;
    for (const suite of mod.children.allSuites()) moduleFailures += suite.errors().length;
    if (mod.state() === 'failed' && moduleFailures === 0) moduleFailures = 1;
    counts.failed += moduleFailures;
  }
  counts.failed += unhandledErrors.length;
  if (reason === 'failed' && counts.failed === 0) counts.failed = 1;
  return counts;
}

/** Prints the plain closing line CI reads: `N passed, N failed, N skipped`. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    const { passed, failed, skipped } = countRun(modules, unhandledErrors, reason);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
