import type { ProcSample } from './proc-stats.js';
import type { BenchScenario, IdleMemory } from './types.js';

/** Every scenario name, in the order `--scenario` lists them. */
export const benchScenarios: readonly BenchScenario[] = [
  'fanout',
  'many-channels',
  'connect-storm',
  'idle',
  'publish-api',
];

/** Subscribers per channel that `many-channels` aims for when `--channels` is not given. */
export const manyChannelsGroup = 4;

/**
 * The channel count of a run: the explicit one when given; otherwise 1, except for
 * `many-channels`, which spreads the subscribers `manyChannelsGroup` to a channel.
 */
export function scenarioChannels(scenario: BenchScenario, subscribers: number, explicit?: number): number {
  if (explicit !== undefined) return explicit;
  return scenario === 'many-channels' ? Math.max(1, Math.floor(subscribers / manyChannelsGroup)) : 1;
}

/** Whether the scenario publishes after connecting (`connect-storm` and `idle` do not). */
export function scenarioPublishes(scenario: BenchScenario): boolean {
  return scenario === 'fanout' || scenario === 'many-channels' || scenario === 'publish-api';
}

/**
 * Whether the timeline records the connecting phase: for the scenarios whose figures are about
 * connecting and holding, it is the part worth charting.
 */
export function scenarioChartsConnecting(scenario: BenchScenario): boolean {
  return !scenarioPublishes(scenario);
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const kib = (bytes: number) => Math.round((bytes / 1024) * 100) / 100;

/**
 * The `idle` figures from three RSS samples: before the first socket opened, once all
 * subscribed, and after holding. Per-connection figures are 0 when nothing connected.
 */
export function idleMemory(
  before: ProcSample,
  connected: ProcSample,
  end: ProcSample,
  connections: number,
  holdSeconds: number,
): IdleMemory {
  const per = (sample: ProcSample) => (connections === 0 ? 0 : kib((sample.rssBytes - before.rssBytes) / connections));
  return {
    rssBeforeMiB: mib(before.rssBytes),
    rssConnectedMiB: mib(connected.rssBytes),
    rssEndMiB: mib(end.rssBytes),
    perConnectionConnectedKiB: per(connected),
    perConnectionEndKiB: per(end),
    holdSeconds: Math.round(holdSeconds * 1000) / 1000,
  };
}
