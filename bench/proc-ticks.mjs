// CPU readings from /proc for the bench scripts (Linux only): the machine's busy time, a process
// tree's, and which process listens on a port (a shared Redis or NATS the bench does not start).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Jiffies per second: 100 on every Linux build Node runs on (USER_HZ). */
export const hz = 100;

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
export function machineTicks() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - fields[4], total };
}

/** utime + stime jiffies of one process, 0 once it has exited. */
export function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** utime + stime jiffies of a process and its direct children (a primary and its workers). */
export function treeTicks(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.trim()
      .split(/\s+/)
      .filter(Boolean);
  }
  return children.reduce((acc, c) => acc + processTicks(c), processTicks(pid));
}

/** The pid listening on TCP `port` on this machine (from `ss -ltnp`), or undefined. */
export function listenerPid(port) {
  const out = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' }).stdout ?? '';
  const match = /pid=(\d+)/.exec(out);
  return match === null ? undefined : Number(match[1]);
}
