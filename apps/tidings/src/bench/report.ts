import type { BenchProgress } from './run-bench.js';
import type { BenchResult } from './types.js';

const num = (n: number) => Math.round(n).toLocaleString('en-US');
/** µs to a short human figure (µs below 1 ms, ms with 2 decimals above). */
const lat = (us: number) => (us < 1000 ? `${num(us)} µs` : `${(us / 1000).toFixed(2)} ms`);

/** One progress line (no newline). */
export function progressLine(p: BenchProgress): string {
  const p99 = p.p99Us === undefined ? '-' : lat(p.p99Us);
  return `[${p.phase} ${p.seconds.toFixed(0)}s] connected ${num(p.connected)}  deliveries/s ${num(p.deliveriesPerSec)}  p99 ${p99}  errors ${p.errors}`;
}

/** The end-of-run table, as printed by `tidings bench`. */
export function formatResult(r: BenchResult): string {
  const o = r.options;
  const rows: Array<[string, string]> = [
    ['scenario', `${num(o.subscribers)} subscribers, ${o.channels} channel(s), ${o.codec}, ${o.workers} worker(s)`],
    [
      'publishing',
      `${o.rate === 0 ? 'saturating' : `${num(o.rate)} msg/s`}, ${o.payloadBytes}-byte payload, ${r.publishSeconds.toFixed(1)} s`,
    ],
    ['connected', `${num(r.connected)} in ${r.connectSeconds.toFixed(2)} s (${num(r.connectPerSec)} connects/s)`],
    ['published', `${num(r.published)} (${num(r.publishesPerSec)}/s)`],
    ['deliveries', `${num(r.deliveries)} of ${num(r.expectedDeliveries)} expected`],
    ['deliveries/s', num(r.deliveriesPerSec)],
    ['latency p50', lat(r.latencyUs.p50)],
    ['latency p90', lat(r.latencyUs.p90)],
    ['latency p99', lat(r.latencyUs.p99)],
    ['latency p99.9', lat(r.latencyUs.p999)],
    ['latency max', lat(r.latencyUs.max)],
    [
      'errors',
      `${r.errors.total} (connect ${r.errors.connect}, disconnects ${r.errors.disconnects}, publish ${r.errors.publish}, protocol ${r.errors.protocol})`,
    ],
  ];
  rows.push(['load cpu', `${r.loadCpuPercent}% of a core (bench processes, while publishing)`]);
  if (r.server !== undefined) {
    const s = r.server;
    rows.push(
      [
        'server cpu',
        `${s.cpuPercent}% of a core (user ${s.userCpuPercent}%), ${s.userCpuUsPerDelivery} µs user/delivery`,
      ],
      ['server rss', `${s.rssStartMiB} → ${s.rssEndMiB} MiB (peak ${s.rssPeakMiB} MiB)`],
    );
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/**
 * Progress printer: on a TTY it rewrites one line on each update; otherwise it prints a plain
 * line every 5 s. `done()` ends the rewritten line.
 */
export function progressPrinter(
  out: NodeJS.WritableStream,
  mode: 'tty' | 'lines' | 'off',
): { update(p: BenchProgress): void; done(): void } {
  let last = 0;
  let open = false;
  return {
    update(p) {
      if (mode === 'tty') {
        out.write(`\r\x1b[2K${progressLine(p)}`);
        open = true;
      } else if (mode === 'lines' && performance.now() - last >= 5_000) {
        last = performance.now();
        out.write(`${progressLine(p)}\n`);
      }
    },
    done() {
      if (open) out.write('\n');
      open = false;
    },
  };
}
