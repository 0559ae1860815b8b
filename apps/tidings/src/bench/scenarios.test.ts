import { describe, expect, it } from 'vitest';
import { svgPathOf } from './command.js';
import type { ProcSample } from './proc-stats.js';
import { runBench } from './run-bench.js';
import { idleMemory, scenarioChannels, scenarioPublishes } from './scenarios.js';

const rss = (mib: number): ProcSample => ({ at: 0, userUs: 0, systemUs: 0, rssBytes: mib * 1048576 });

describe('scenario defaults', () => {
  it('spreads many-channels four to a channel unless --channels is given; the others use one channel', () => {
    expect(scenarioChannels('many-channels', 2000)).toBe(500);
    expect(scenarioChannels('many-channels', 3)).toBe(1);
    expect(scenarioChannels('many-channels', 2000, 7)).toBe(7);
    expect(scenarioChannels('fanout', 2000)).toBe(1);
    expect(scenarioChannels('idle', 2000)).toBe(1);
    expect(scenarioChannels('fanout', 2000, 3)).toBe(3);
  });

  it('publishes only in fanout and many-channels', () => {
    expect(['fanout', 'many-channels', 'connect-storm', 'idle'].map((s) => scenarioPublishes(s as never))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('idleMemory', () => {
  it('divides the RSS growth over the connections, in KiB', () => {
    const m = idleMemory(rss(60), rss(140), rss(120), 10_000, 20.0004);
    expect(m).toEqual({
      rssBeforeMiB: 60,
      rssConnectedMiB: 140,
      rssEndMiB: 120,
      perConnectionConnectedKiB: 8.19,
      perConnectionEndKiB: 6.14,
      holdSeconds: 20,
    });
  });

  it('answers 0 per connection when nothing connected', () => {
    const m = idleMemory(rss(60), rss(61), rss(61), 0, 1);
    expect([m.perConnectionConnectedKiB, m.perConnectionEndKiB]).toEqual([0, 0]);
  });
});

describe('svgPathOf', () => {
  it('puts the chart beside the JSON file unless --svg names one', () => {
    expect(svgPathOf('/tmp/r.json', undefined)).toBe('/tmp/r.svg');
    expect(svgPathOf('/tmp/r.out', undefined)).toBe('/tmp/r.out.svg');
    expect(svgPathOf('/tmp/r.json', '/tmp/c.svg')).toBe('/tmp/c.svg');
    expect(svgPathOf(undefined, '/tmp/c.svg')).toBe('/tmp/c.svg');
    expect(svgPathOf(undefined, undefined)).toBeUndefined();
  });
});

describe('publish-api', () => {
  it('publishes, and refuses a transport whose server has no Tidings HTTP API', async () => {
    expect(scenarioPublishes('publish-api')).toBe(true);
    await expect(
      runBench({
        scenario: 'publish-api',
        transport: 'nchan-ws',
        url: 'ws://127.0.0.1:9/sub',
        apiUrl: 'http://127.0.0.1:9',
        subscribers: 1,
        channels: 1,
        channelPrefix: 'x',
        rate: 0,
        duration: 1,
        codec: 'json',
        workers: 1,
        payloadBytes: 100,
        publishConcurrency: 1,
        connectConcurrency: 1,
        socketsPerAddress: 1,
        progress: 'off',
      }),
    ).rejects.toThrow(/--scenario publish-api drives Tidings' HTTP API; --transport nchan-ws/);
  });
});
