export { type BrokerConformanceOptions, type OpenEngine, runBrokerConformance } from './broker-conformance.js';
export {
  type ChaosFaults,
  type ChaosProxy,
  type ChaosProxyOptions,
  type ChaosStep,
  chaosFaultKinds,
  runChaosSchedule,
  seededChaosSchedule,
  startChaosProxy,
} from './chaos/chaos-proxy.js';
export { SeededRandom } from './chaos/seeded-random.js';
export {
  comparableInfo,
  type DeliveredPublication,
  type EngineFactory,
  type EngineUnderTest,
  EventRecorder,
  fromUtf8,
  sleep,
  uniqueChannel,
  utf8,
  waitFor,
} from './engine-harness.js';
export { type HistoryModelOptions, runHistoryModelTest } from './history-model.js';
export {
  createLedger,
  type Ledger,
  type LedgerCheckOptions,
  type LedgerDiscontinuity,
  type LedgerEntry,
} from './ledger.js';
export { formatLedgerReport, type LedgerReport, type SubscriberLedgerReport } from './ledger-report.js';
export { Balancer } from './nemesis/balancer.js';
export { type PublishersOptions, type PublishersOutcome, startPublishers } from './nemesis/publishers.js';
export {
  formatNemesisReport,
  type NemesisEngine,
  type NemesisFault,
  type NemesisOptions,
  type NemesisReport,
  type NemesisStep,
  nemesisEngines,
  nemesisFaults,
  planNemesis,
  runNemesis,
} from './nemesis/run-nemesis.js';
export { pollSubscriber, streamSubscriber } from './nemesis/stream-adapters.js';
export {
  type NemesisSubscriber,
  type NemesisTransport,
  nemesisTransports,
  type SubscriberContext,
  sdkSubscriber,
} from './nemesis/subscriber.js';
export {
  freeTcpPort,
  type Supervised,
  type SupervisedKind,
  type SupervisedState,
  Supervisor,
} from './nemesis/supervisor.js';
export { type PrefixConformanceOptions, runPrefixConformance } from './prefix-conformance.js';
export { runStateStoreConformance, type StateStoreConformanceOptions } from './state-conformance.js';
