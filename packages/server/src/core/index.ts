export {
  ChannelRules,
  type ChannelsOptions,
  canaryChannel,
  defaultNamespaceOptions,
  type NamespaceOptions,
  type ResolvedChannel,
  reservedNamespace,
  type SlowConsumerPolicy,
  userLimitedUsers,
} from './channel-options.js';
export { Conflator, type ConflatorOptions, type ConflatorSink } from './conflator.js';
export { type DeltaKind, gapTag } from './delivery-gate.js';
export { EncodedPush, type SharedFrameBuilder } from './encoded-push.js';
export {
  type ConnectingContext,
  type ConnectingResult,
  type DisconnectContext,
  type HookClient,
  HookDisconnect,
  hookDisconnect,
  isHookDisconnect,
  type PublishContext,
  type PublishHookResult,
  type RefreshContext,
  type RefreshHookResult,
  type RpcContext,
  type RpcHookResult,
  type SubscribeContext,
  type SubscribeHookResult,
  type TidingsHooks,
} from './hooks.js';
export type { HubPatternSubscriber } from './hub.js';
export { createNode, type NodeInfo, type NodeOptions, type SessionStats, TidingsNode } from './node.js';
export type { NodePublishItem, NodePublishOptions } from './node-context.js';
export { type ClientOptions, defaultClientOptions, type PushFraming, resolveClientOptions } from './options.js';
export {
  channelLevels,
  multiLevelWildcard,
  PatternIndex,
  type PatternRefusal,
  patternPrefix,
  patternRefusal,
  singleLevelWildcard,
} from './pattern-index.js';
export type { PatternSubscription } from './pattern-subscriptions.js';
export { type RecoveryOutcome, recoverFromHistory } from './recovery.js';
export { Session, type SessionState } from './session.js';
export { type SharedRateCounter, SharedWindowLimiter, type SharedWindowLimiterOptions } from './shared-rate.js';
export { snapshotPublications, stateKeyOf, stateKeyTag, statePatchTag } from './state-channel.js';
