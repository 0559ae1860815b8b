import type { BenchProgress } from './run-bench.js';
import { scenarioPublishes } from './scenarios.js';
import type { BenchResult, LatencySummary } from './types.js';

const num = (n: number) => Math.round(n).toLocaleString('en-US');
/** µs to a short human figure (µs below 1 ms, ms with 2 decimals above). */
const lat = (us: number) => (us < 1000 ? `${num(us)} µs` : `${(us / 1000).toFixed(2)} ms`);

/** One progress line (no newline). */
export function progressLine(p: BenchProgress): string {
  const p99 = p.p99Us === undefined ? '-' : lat(p.p99Us);
  return `[${p.phase} ${p.seconds.toFixed(0)}s] connected ${num(p.connected)}  deliveries/s ${num(p.deliveriesPerSec)}  p99 ${p99}  errors ${p.errors}`;
}

function latencyRows(name: string, l: LatencySummary): Array<[string, string]> {
  return [
    [`${name} p50`, lat(l.p50)],
    [`${name} p90`, lat(l.p90)],
    [`${name} p99`, lat(l.p99)],
    [`${name} p99.9`, lat(l.p999)],
    [`${name} max`, lat(l.max)],
  ];
}

/** The end-of-run table, as printed by `tidings bench`; rows depend on the scenario. */
export function formatResult(r: BenchResult): string {
  const o = r.options;
  const scenario = o.scenario ?? 'fanout';
  const publishes = scenarioPublishes(scenario);
  const rows: Array<[string, string]> = [
    [
      'scenario',
      `${scenario}: ${num(o.subscribers)} subscribers, ${o.channels} channel(s), ${o.codec}, ${o.workers} worker(s)`,
    ],
  ];
  if (publishes) {
    rows.push([
      'publishing',
      `${o.rate === 0 ? 'saturating' : `${num(o.rate)} msg/s`}, ${o.payloadBytes}-byte payload, ${r.publishSeconds.toFixed(1)} s${o.warmupSeconds === undefined ? '' : ` after a ${o.warmupSeconds} s warm-up (not counted)`}`,
    ]);
  }
  rows.push([
    'connected',
    `${num(r.connected)} in ${r.connectSeconds.toFixed(2)} s (${num(r.connectPerSec)} connects/s)`,
  ]);
  const connect = r.connectLatencyUs;
  if (scenario === 'connect-storm' && connect !== undefined) rows.push(...latencyRows('connect latency', connect));
  else if (connect !== undefined) rows.push(['connect latency', `p50 ${lat(connect.p50)}, p99 ${lat(connect.p99)}`]);
  const api = r.publishApi;
  if (api !== undefined) {
    rows.push(
      [
        'publish api',
        `${api.path}, ${api.batch} publication(s) per request${api.parallel ? ' (parallel)' : ''}, ${api.connections} autocannon connections`,
      ],
      ['requests', `${num(api.requests)} (${num(api.requestsPerSec)}/s)`],
      ...latencyRows('request latency', api.requestLatencyUs),
    );
  }
  if (publishes) {
    rows.push(
      ['published', `${num(r.published)} (${num(r.publishesPerSec)}/s)`],
      ['deliveries', `${num(r.deliveries)} of ${num(r.expectedDeliveries)} expected`],
      ['deliveries/s', num(r.deliveriesPerSec)],
      ...latencyRows('latency', r.latencyUs),
    );
  }
  if (scenario === 'idle') rows.push(['held', `${o.duration} s without publishing`]);
  rows.push([
    'errors',
    `${r.errors.total} (connect ${r.errors.connect}, disconnects ${r.errors.disconnects}, publish ${r.errors.publish}, protocol ${r.errors.protocol}, dropped by the server ${r.errors.dropped ?? 0})`,
  ]);
  const window = publishes ? 'while publishing' : scenario === 'idle' ? 'while holding' : 'while connecting';
  rows.push(['load cpu', `${r.loadCpuPercent}% of a core (bench processes, ${window})`]);
  if (r.server !== undefined) {
    const s = r.server;
    const perDelivery = publishes
      ? `, ${s.userCpuUsPerDelivery} µs user + ${s.systemCpuUsPerDelivery} µs system/delivery`
      : s.userCpuUsPerConnect === undefined
        ? ''
        : `, ${s.userCpuUsPerConnect} µs user/connection`;
    rows.push(
      ['server cpu', `${s.cpuPercent}% of a core (user ${s.userCpuPercent}%)${perDelivery}, ${window}`],
      ['server rss', `${s.rssStartMiB} → ${s.rssEndMiB} MiB (peak ${s.rssPeakMiB} MiB)`],
    );
  }
  if (r.idle !== undefined) {
    const i = r.idle;
    rows.push(
      [
        'idle rss',
        `${i.rssBeforeMiB} MiB before, ${i.rssConnectedMiB} connected, ${i.rssEndMiB} after ${i.holdSeconds.toFixed(1)} s`,
      ],
      ['rss/connection', `${i.perConnectionEndKiB} KiB at the end (${i.perConnectionConnectedKiB} KiB once connected)`],
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
