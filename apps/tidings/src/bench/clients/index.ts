import { createCentrifugeWsAdapter } from './centrifuge-ws.js';
import { createNchanSseAdapter, createNchanWsAdapter } from './nchan.js';
import { createSocketIoAdapter } from './socketio.js';
import { createTidingsNdjsonAdapter, createTidingsSseAdapter } from './tidings-streams.js';
import type { AdapterFactory, TransportName } from './types.js';

export type {
  AdapterConfig,
  AdapterFactory,
  ClientAdapter,
  DeliverySink,
  Subscriber,
  SubscriberHooks,
  TransportName,
} from './types.js';
export { transportNames } from './types.js';

/** The adapter of each transport; adding a transport is one file plus one line here. */
export const adapters: Readonly<Record<TransportName, AdapterFactory>> = {
  'centrifuge-ws': createCentrifugeWsAdapter,
  'tidings-sse': createTidingsSseAdapter,
  'tidings-ndjson': createTidingsNdjsonAdapter,
  socketio: createSocketIoAdapter,
  'nchan-ws': createNchanWsAdapter,
  'nchan-sse': createNchanSseAdapter,
};

/**
 * How publications reach the server for a transport: `api` is `POST /api/publish` with
 * `{"channel","data"}` (Tidings, the raw-ws and Socket.IO peers), `nchan` is `POST /pub?id=<channel>`
 * with the data as the body (Nchan's publisher location).
 */
export type PublishStyle = 'api' | 'nchan';

/** The publish request shape that goes with a transport's server. */
export function publishStyleOf(transport: TransportName): PublishStyle {
  return transport.startsWith('nchan-') ? 'nchan' : 'api';
}
