import { describe, expect, it } from 'vitest';
import { parseProcStat, sampleProcess } from './proc-stats.js';

describe('parseProcStat', () => {
  it('reads utime and stime after a command name holding spaces and parentheses', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 731 42 0 0 20 0 11 0 5 0 0';
    expect(parseProcStat(stat)).toEqual({ userTicks: 731, systemTicks: 42 });
  });

  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow();
  });
});

describe('sampleProcess', () => {
  it('agrees with process.cpuUsage() on this process, so the clock-tick size is right', () => {
    const start = process.cpuUsage();
    let spin = 0;
    // Burn at least 300 ms of CPU: a wrong tick size (e.g. 1000 Hz) would be off by far more than a few ticks.
    while (process.cpuUsage(start).user < 300_000) for (let i = 0; i < 1_000_000; i++) spin = (spin + i) % 7919;
    const own = process.cpuUsage();
    const sample = sampleProcess(process.pid);
    expect(spin).toBeGreaterThanOrEqual(0);
    expect(sample).toBeDefined();
    const fromProc = (sample?.userUs ?? 0) + (sample?.systemUs ?? 0);
    // /proc rounds each field down to a 10 ms tick; a few ticks of slack cover that.
    expect(Math.abs(fromProc - (own.user + own.system))).toBeLessThan(60_000);
    expect(sample?.rssBytes).toBeGreaterThan(1024 * 1024);
  });

  it('answers undefined for a process that does not exist', () => {
    expect(sampleProcess(2 ** 22 + 12345)).toBeUndefined();
  });
});
