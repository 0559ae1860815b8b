import { scenarioPublishes } from './scenarios.js';
import { type Bar, type Box, barPanel, linePanel, type Series, svgDocument, text } from './svg-chart.js';
import type { BenchResult, LatencySummary } from './types.js';

const width = 1000;
const height = 470;
const left: Box = { x: 80, y: 110, w: 330, h: 270 };
const right: Box = { x: 520, y: 110, w: 380, h: 270 };
const blue = '#4878d0';
const orange = '#e8743b';

/** Whole-number figure with thousands separators; k / M above 10,000 (axis ticks stay short). */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${Math.round(n / 1e5) / 10}M`;
  if (abs >= 1e4) return `${Math.round(n / 100) / 10}k`;
  return Math.round(n).toLocaleString('en-US');
}

/** µs as µs, ms or s with the unit. */
export function formatMicros(us: number): string {
  if (us >= 1e6) return `${Math.round(us / 1e4) / 100} s`;
  if (us >= 1000) return `${Math.round(us / 10) / 100} ms`;
  return `${Math.round(us)} µs`;
}

/** Formats a count axis alike on every tick: in k (or M) when its top reaches 10,000. */
function countAxis(values: readonly number[]): (n: number) => string {
  const max = Math.max(0, ...values);
  if (max >= 1e6) return (n) => `${Math.round(n / 1e5) / 10}M`;
  if (max >= 1e4) return (n) => `${Math.round(n / 100) / 10}k`;
  return (n) => Math.round(n).toLocaleString('en-US');
}

const formatMs = (ms: number) =>
  ms >= 1000 ? Math.round(ms).toLocaleString('en-US') : String(Math.round(ms * 100) / 100);
const formatMiB = (mib: number) => String(Math.round(mib * 10) / 10);

function percentileBars(summary: LatencySummary | undefined): Bar[] {
  if (summary === undefined || summary.count === 0) return [];
  return [
    { label: 'p50', value: summary.p50 },
    { label: 'p90', value: summary.p90 },
    { label: 'p99', value: summary.p99 },
    { label: 'p99.9', value: summary.p999 },
    { label: 'max', value: summary.max },
  ];
}

function subtitle(r: BenchResult): string {
  const o = r.options;
  const parts = [`${o.subscribers.toLocaleString('en-US')} subscribers`, `${o.channels} channel(s)`, o.codec];
  const scenario = o.scenario ?? 'fanout';
  if (scenarioPublishes(scenario)) {
    if (r.publishApi !== undefined) parts.push(`${r.publishApi.path} × ${r.publishApi.batch}`);
    parts.push(
      o.rate === 0 ? 'saturating' : `${o.rate} msg/s`,
      `${o.payloadBytes}-byte payload`,
      `${r.publishSeconds.toFixed(1)} s`,
    );
  } else if (scenario === 'idle') parts.push(`held ${o.duration} s`);
  else parts.push(`${o.connectConcurrency} opening at once per worker`);
  parts.push(`${o.workers} load worker(s)`);
  return parts.join(' · ');
}

function summaryLine(r: BenchResult): string {
  const scenario = r.options.scenario ?? 'fanout';
  const parts: string[] = [];
  if (r.publishApi !== undefined) {
    parts.push(
      `${formatCount(r.publishesPerSec)} publishes/s`,
      `request p99 ${formatMicros(r.publishApi.requestLatencyUs.p99)}`,
    );
  }
  if (scenarioPublishes(scenario)) {
    parts.push(`${formatCount(r.deliveriesPerSec)} deliveries/s`, `p99 ${formatMicros(r.latencyUs.p99)}`);
  } else {
    parts.push(`${r.connected.toLocaleString('en-US')} connected at ${formatCount(r.connectPerSec)}/s`);
  }
  if (r.idle !== undefined) parts.push(`${r.idle.perConnectionEndKiB} KiB RSS per connection`);
  if (r.server !== undefined) {
    parts.push(`server CPU ${r.server.cpuPercent}% of a core`);
    if (r.deliveries > 0) parts.push(`${r.server.userCpuUsPerDelivery} µs user CPU/delivery`);
  }
  parts.push(`load CPU ${r.loadCpuPercent}%`, `errors ${r.errors.total}`);
  return parts.join(' · ');
}

/** The left and right panels of a scenario. */
function panels(r: BenchResult): string[] {
  const scenario = r.options.scenario ?? 'fanout';
  const points = r.timeline;
  const logLatency = { label: 'latency (log scale)', log: true, format: formatMicros };
  const connected: Series = {
    name: 'connected',
    color: blue,
    axisLabel: 'connections',
    points: points.map((p) => [p.t, p.connected]),
    format: countAxis(points.map((p) => p.connected * 1.2)),
  };
  const rss: Series | undefined = points.some((p) => p.serverRssMiB !== undefined)
    ? {
        name: 'server RSS',
        color: orange,
        axisLabel: 'server RSS (MiB)',
        points: points.flatMap((p) => (p.serverRssMiB === undefined ? [] : [[p.t, p.serverRssMiB] as const])),
        format: formatMiB,
      }
    : undefined;
  const noTimeline = 'no timeline (the run was shorter than a second)';
  if (scenario === 'connect-storm') {
    return [
      barPanel(left, 'Connect latency: socket opened → subscribed', percentileBars(r.connectLatencyUs), logLatency),
      linePanel(right, 'Connections over time', connected, rss, noTimeline),
    ];
  }
  if (scenario === 'idle') {
    const bars: Bar[] =
      r.idle === undefined
        ? []
        : [
            { label: 'before', value: r.idle.rssBeforeMiB },
            { label: 'connected', value: r.idle.rssConnectedMiB },
            { label: 'end of hold', value: r.idle.rssEndMiB },
          ];
    return [
      barPanel(left, 'Server RSS before, connected, after holding', bars, {
        label: 'RSS (MiB)',
        log: false,
        format: formatMiB,
        empty: 'no data (run with --server-pid)',
      }),
      linePanel(right, 'Connections and server RSS over time', connected, rss, noTimeline),
    ];
  }
  const deliveries: Series = {
    name: 'deliveries/s',
    color: blue,
    axisLabel: 'deliveries per second',
    points: points.map((p) => [p.t, p.deliveriesPerSec]),
    format: countAxis(points.map((p) => p.deliveriesPerSec * 1.2)),
  };
  const p99: Series = {
    name: 'p99 of the second',
    color: orange,
    axisLabel: 'p99 latency (ms)',
    points: points.flatMap((p) => (p.p99 === undefined ? [] : [[p.t, p.p99 / 1000] as const])),
    format: formatMs,
  };
  return [
    barPanel(left, 'End-to-end latency percentiles', percentileBars(r.latencyUs), logLatency),
    linePanel(right, 'Throughput and p99 per second', deliveries, p99, noTimeline),
  ];
}

/**
 * The chart of one run as a standalone SVG document: the scenario's distribution on the left
 * (latency percentiles, connect-latency percentiles, or RSS for `idle`) and its per-second
 * timeline on the right, with a title naming the scenario and a line of headline figures.
 */
export function benchChartSvg(r: BenchResult): string {
  const scenario = r.options.scenario ?? 'fanout';
  let target = r.options.url;
  try {
    target = new URL(r.options.url).host;
  } catch {
    // Not a URL: show it as given.
  }
  return svgDocument(width, height, [
    text(
      40,
      34,
      `tidings bench — ${scenario} scenario against ${target}`,
      'font-size="20" font-weight="bold" fill="#111"',
    ),
    text(40, 58, subtitle(r), 'font-size="13" fill="#444"'),
    ...panels(r),
    text(40, height - 22, summaryLine(r), 'font-size="12" fill="#333"'),
    text(width - 20, height - 22, r.startedAt, 'font-size="10" fill="#999" text-anchor="end"'),
  ]);
}
