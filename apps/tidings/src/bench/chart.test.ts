import { describe, expect, it } from 'vitest';
import { benchChartSvg, formatMicros } from './chart.js';
import { escapeXml, logTicks, niceTicks } from './svg-chart.js';
import type { BenchResult, BenchScenario, TimelinePoint } from './types.js';

/** Checks the document is well nested (every tag closed in order) and has no bare `&` or `<`. */
function assertWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z0-9:-]+="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const between = body.slice(at, m.index);
    expect(between).not.toMatch(/[<>]|&(?!#\d+;|amp;|lt;|gt;|quot;)/);
    at = m.index + m[0].length;
    const [, closing, name = '', , selfClosing] = m;
    if (closing === '/') expect(stack.pop()).toBe(name);
    else if (selfClosing !== '/') stack.push(name);
  }
  expect(body.slice(at).trim()).toBe('');
  expect(stack).toEqual([]);
  expect(body.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

function result(scenario: BenchScenario, timeline: readonly TimelinePoint[]): BenchResult {
  const latency = { count: 100, p50: 800, p90: 2_000, p99: 9_000, p999: 40_000, max: 120_000, mean: 1_200 };
  return {
    options: {
      scenario,
      url: 'ws://127.0.0.1:8000/connection/websocket',
      apiUrl: 'http://127.0.0.1:8000',
      subscribers: 2000,
      channels: 1,
      channelPrefix: 'bench:<&>',
      rate: 20,
      duration: 10,
      codec: 'json',
      workers: 2,
      payloadBytes: 100,
      publishConcurrency: 64,
      connectConcurrency: 200,
      socketsPerAddress: 15_000,
    },
    startedAt: '2026-01-01T00:00:00.000Z',
    connected: 2000,
    connectPerSec: 1500,
    connectSeconds: 1.3,
    connectLatencyUs: latency,
    published: 200,
    publishesPerSec: 20,
    publishSeconds: 10,
    loadCpuPercent: 12,
    expectedDeliveries: 400_000,
    deliveries: 400_000,
    deliveriesPerSec: 40_000,
    deliverySeconds: 10,
    latencyUs: latency,
    errors: { connect: 0, disconnects: 0, publish: 0, protocol: 0, dropped: 0, total: 0 },
    server: {
      pid: 1,
      cpuPercent: 50,
      userCpuPercent: 40,
      userCpuUsPerDelivery: 1.25,
      systemCpuUsPerDelivery: 2.5,
      rssStartMiB: 80,
      rssEndMiB: 90,
      rssPeakMiB: 91,
    },
    ...(scenario === 'idle'
      ? {
          idle: {
            rssBeforeMiB: 60,
            rssConnectedMiB: 80,
            rssEndMiB: 75,
            perConnectionConnectedKiB: 10.24,
            perConnectionEndKiB: 7.68,
            holdSeconds: 10,
          },
        }
      : {}),
    timeline,
  };
}

const timeline: TimelinePoint[] = [1, 2, 3, 4].map((t) => ({
  t,
  connected: 2000,
  deliveriesPerSec: 39_000 + t * 100,
  p99: 8_000 + t,
  serverRssMiB: 85,
}));

describe('benchChartSvg', () => {
  it('draws latency percentiles and the per-second timeline with titled axes and units', () => {
    const svg = benchChartSvg(result('fanout', timeline));
    assertWellFormed(svg);
    expect(svg).toContain('tidings bench — fanout scenario against 127.0.0.1:8000');
    for (const label of ['p50', 'p90', 'p99', 'p99.9', 'max', 'latency (log scale)', 'time (s)']) {
      expect(svg).toContain(`>${label}<`);
    }
    expect(svg).toContain('deliveries per second');
    expect(svg).toContain('p99 latency (ms)');
    expect(svg).toContain('>120 ms<'); // the max bar's value, with its unit
    expect(svg.match(/<rect [^>]*fill="#4878d0"/g)?.length).toBeGreaterThanOrEqual(5);
    expect(svg.match(/<polyline /g)?.length).toBe(2);
    // One style per count axis: 0, 10k … 40k, not 8,000 next to 10k.
    expect(svg).toContain('>40k<');
    expect(svg).toContain('>10k<');
    expect(svg).not.toContain('>10,000<');
  });

  it('handles an empty timeline and an empty histogram without lines or NaN', () => {
    const r = result('fanout', []);
    const svg = benchChartSvg({ ...r, latencyUs: { ...r.latencyUs, count: 0 } });
    assertWellFormed(svg);
    expect(svg).toContain('no timeline');
    expect(svg).toContain('>no data<');
    expect(svg).not.toContain('<polyline');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('charts connect latency for connect-storm and RSS for idle', () => {
    const storm = benchChartSvg(result('connect-storm', timeline));
    assertWellFormed(storm);
    expect(storm).toContain('Connect latency');
    expect(storm).toContain('>connections<');
    const idle = benchChartSvg(result('idle', timeline));
    assertWellFormed(idle);
    expect(idle).toContain('>RSS (MiB)<');
    expect(idle).toContain('7.68 KiB RSS per connection');
    expect(idle).toContain('>end of hold<');
  });
});

describe('chart helpers', () => {
  it('escapes markup in text', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&#60;b &#38; &#34;c&#34;');
  });

  it('picks 1-2-5 ticks covering the maximum and decades covering a log range', () => {
    expect(niceTicks(37)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(1_000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(logTicks(800, 120_000)).toEqual([100, 1_000, 10_000, 100_000, 1_000_000]);
    expect(logTicks(5, 5)).toEqual([1, 10]);
  });

  it('formats microseconds with their unit', () => {
    expect(formatMicros(999)).toBe('999 µs');
    expect(formatMicros(1_234)).toBe('1.23 ms');
    expect(formatMicros(2_500_000)).toBe('2.5 s');
  });
});
