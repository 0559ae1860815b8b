/**
 * Versions of the interfaces this server speaks, as `POST /api/info` reports them (`versions`)
 * and docs/versioning.md defines them. A major number changes only with a breaking change of
 * that interface; additions (new methods, fields, events) never change it.
 */
export const interfaceVersions = Object.freeze({
  /** The HTTP server API and the other HTTP endpoints described by `/api/openapi.json` (`info.version` there). */
  httpApi: '1.0.0',
  /** The client protocol on WebSocket and the SDK emulation: Centrifuge protocol v2 (JSON and Protobuf). */
  clientProtocol: 'centrifuge-v2',
  /** The Protobuf package of the gRPC / Connect server API (packages/connect/proto). */
  protobufApi: 'tidings.api.v1',
  /** The one-way streams (SSE, NDJSON), their events and cursors, and polling. */
  oneWayStreams: '1',
} as const);

/** The `versions` object of the info result: the running server's version and `interfaceVersions`. */
export function versionsOut(serverVersion: string): {
  readonly server: string;
  readonly http_api: string;
  readonly client_protocol: string;
  readonly protobuf_api: string;
  readonly one_way_streams: string;
} {
  return {
    server: serverVersion,
    http_api: interfaceVersions.httpApi,
    client_protocol: interfaceVersions.clientProtocol,
    protobuf_api: interfaceVersions.protobufApi,
    one_way_streams: interfaceVersions.oneWayStreams,
  };
}
