import { readFileSync } from 'node:fs';

/** CPU time (µs) and resident memory (bytes) of a process at one instant. */
export interface ProcSample {
  readonly at: number;
  readonly userUs: number;
  readonly systemUs: number;
  readonly rssBytes: number;
}

// Linux reports CPU time in clock ticks of USER_HZ, which the kernel ABI fixes at 100 on every
// architecture Node supports (`getconf CLK_TCK`); proc-stats.test.ts checks it against
// process.cpuUsage().
const tickUs = 10_000;

/**
 * User and system CPU time in clock ticks from the text of `/proc/<pid>/stat` (fields 14 and
 * 15). The command name (field 2) may hold spaces and parentheses, so fields are counted from
 * the last ')'. Throws on text that has no such fields.
 */
export function parseProcStat(stat: string): { readonly userTicks: number; readonly systemTicks: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) throw new Error('not a /proc/<pid>/stat line');
  return { userTicks, systemTicks };
}

/**
 * Reads `/proc/<pid>/stat` (utime, stime: the whole thread group) and `/proc/<pid>/status`
 * (VmRSS). Returns undefined when the process is gone or /proc is not there (not Linux).
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const { userTicks, systemTicks } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return {
      at: performance.now(),
      userUs: userTicks * tickUs,
      systemUs: systemTicks * tickUs,
      rssBytes: rss === null ? 0 : Number(rss[1]) * 1024,
    };
  } catch {
    return undefined;
  }
}
