export type { ProxyEndpoint, ProxyKind } from './backend-call.js';
export { createHttpProxyHooks, type HttpProxyOptions, type NamespaceProxies } from './http-proxy.js';
