// Runs the built `tidings bench` binary (after `npm run build`) the way users do, for the bench
// smoke tests, and reads back its `--out` JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../../apps/tidings/src/bench/types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'apps/tidings/bin/tidings.js');

/** What one CLI run printed and exited with. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tidings ARGS…` to its exit. */
export function runCli(args: readonly string[]): Promise<CliRun> {
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/**
 * Runs `tidings bench ARGS… --out <tmp>` and returns the run and its result; rejects when it exits
 * with another code than `expectedCode` (0 unless a test expects the run to fail after writing).
 */
export async function runBenchCli(
  args: readonly string[],
  expectedCode = 0,
): Promise<CliRun & { result: BenchResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-'));
  const out = join(dir, 'result.json');
  try {
    const run = await runCli(['bench', ...args, '--out', out]);
    if (run.code !== expectedCode) throw new Error(`tidings bench exited with ${run.code}:\n${run.stderr}`);
    return { ...run, result: JSON.parse(readFileSync(out, 'utf8')) as BenchResult };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The root of the repository (for bench/peers/ files). */
export const repoRoot = root;
