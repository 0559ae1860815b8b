/** One delivery path the canary measures. */
export interface CanaryProbe {
  /** Label of the canary metrics: `hub`, `websocket`, `sse`, `http_stream`. */
  readonly transport: string;
  /** True while its connection is up and subscribed to the canary channel. */
  readonly connected: boolean;
  /** Opens its connection (again); resolves when subscribed, rejects when that failed. */
  connect(): Promise<void>;
  /** Closes its connection; it does not reconnect until `connect()`. */
  close(): void;
}

/** What a probe reports: the canary sequence number of each canary publication it received. */
export type CanaryReceiver = (transport: string, seq: number) => void;

/** The canary payload: which canary (node id) and which round. */
export interface CanaryPayload {
  readonly canary: string;
  readonly seq: number;
}

/** The sequence number in `data` when it is a payload of canary `id`, else undefined. */
export function canarySeq(data: unknown, id: string): number | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const p = data as Partial<CanaryPayload>;
  return p.canary === id && typeof p.seq === 'number' ? p.seq : undefined;
}
