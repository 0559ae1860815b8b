import { readFileSync } from 'node:fs';

/** CPU time (µs) and resident memory (bytes) of a process at one instant. */
export interface ProcSample {
  readonly at: number;
  readonly userUs: number;
  readonly systemUs: number;
  readonly rssBytes: number;
}

// Linux reports CPU time in clock ticks; USER_HZ is 100 on every architecture Node supports.
const tickUs = 10_000;

/**
 * Reads `/proc/<pid>/stat` (utime, stime) and `/proc/<pid>/status` (VmRSS).
 * Returns undefined when the process is gone or /proc is not there (not Linux).
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return {
      at: performance.now(),
      userUs: Number(fields[11]) * tickUs,
      systemUs: Number(fields[12]) * tickUs,
      rssBytes: rss === null ? 0 : Number(rss[1]) * 1024,
    };
  } catch {
    return undefined;
  }
}
