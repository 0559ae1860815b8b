export {
  ChannelRules,
  type ChannelsOptions,
  defaultNamespaceOptions,
  type NamespaceOptions,
  type ResolvedChannel,
  userLimitedUsers,
} from './channel-options.js';
export { EncodedPush, type SharedFrameBuilder } from './encoded-push.js';
export { createNode, type NodeInfo, type NodeOptions, type SessionStats, TidingsNode } from './node.js';
export type { NodePublishOptions } from './node-context.js';
export { type ClientOptions, defaultClientOptions, resolveClientOptions } from './options.js';
export { type RecoveryOutcome, recoverFromHistory } from './recovery.js';
export { Session, type SessionState } from './session.js';
