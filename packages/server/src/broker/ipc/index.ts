export {
  createIpcEngine,
  IpcBroker,
  type IpcEngine,
  type IpcEngineOptions,
  IpcPresence,
  IpcStateStore,
} from './ipc-engine.js';
export { type IpcAttachment, IpcEngineHost, type IpcHostedEngine } from './ipc-engine-host.js';
export { type IpcMessage, type IpcOperation, type IpcPort, type IpcRequest, isIpcMessage } from './messages.js';
export { createIpcPortPair, type IpcPortPair } from './port-pair.js';
