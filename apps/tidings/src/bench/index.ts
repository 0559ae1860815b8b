/**
 * `tidings bench` as a library (for scripts in bench/): import from
 * `apps/tidings/dist/bench/index.js` after `npm run build`.
 */
export { benchChartSvg } from './chart.js';
export { type BenchIo, registerBenchCommand } from './command.js';
export { nowMicros, readSendTime } from './messages.js';
export { type ProcSample, sampleProcess } from './proc-stats.js';
export { Publisher, type PublisherOptions, type PublisherStats, publishBody } from './publisher.js';
export { formatResult, progressLine } from './report.js';
export { type BenchProgress, runBench } from './run-bench.js';
export { benchScenarios, idleMemory, scenarioChannels, scenarioPublishes } from './scenarios.js';
export type {
  BenchErrors,
  BenchOptions,
  BenchResult,
  BenchScenario,
  IdleMemory,
  LatencySummary,
  ServerUsage,
  TimelinePoint,
} from './types.js';
