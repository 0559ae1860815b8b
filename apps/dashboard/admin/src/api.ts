// The admin JSON API (apps/tidings/src/admin/admin-routes.ts; docs/admin.md).

export interface ApiError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export interface LatencyQuantiles {
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface Sample {
  readonly t: number;
  readonly connections: Record<string, number>;
  readonly subscriptions: number;
  readonly publicationsPerSec: number;
  readonly deliveriesPerSec: Record<string, number>;
  readonly latencyMs: Record<string, LatencyQuantiles>;
}

export interface NodeInfo {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly numClients: number;
  readonly numUsers: number;
  readonly numSubs: number;
  readonly numChannels: number;
}

export interface Stats {
  readonly node: { id: string; name: string; version: string };
  readonly engine: { type: string; ready: boolean };
  readonly nodes: NodeInfo[];
  readonly samples: Sample[];
}

export interface ChannelDetail {
  readonly channel: string;
  readonly subscribers: number;
  readonly presence: Array<{ client: string; user: string }> | null;
  readonly history: {
    epoch: string;
    offset: number;
    publications: Array<{ offset: number; time: number; data?: unknown; b64data?: string }>;
  } | null;
}

export class AdminApiError extends Error implements ApiError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/admin/api/${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) {
    throw new AdminApiError(
      res.status,
      json.error?.code ?? `http_${res.status}`,
      json.error?.message ?? res.statusText,
    );
  }
  return json as T;
}

export const api = {
  session: () => call<{ node: { name: string }; engine: string }>('GET', 'session'),
  login: (password: string) => call<{ ok: true }>('POST', 'login', { password }),
  logout: () => call<{ ok: true }>('POST', 'logout', {}),
  stats: (since: number) => call<Stats>('GET', `stats?since=${since}`),
  channels: (pattern: string) =>
    call<{ channels: Array<{ channel: string; numClients: number }> }>(
      'GET',
      `channels?pattern=${encodeURIComponent(pattern)}`,
    ),
  channel: (channel: string) => call<ChannelDetail>('GET', `channel?channel=${encodeURIComponent(channel)}`),
  publish: (channel: string, data: unknown) =>
    call<{ offset: number; epoch: string }>('POST', 'publish', { channel, data }),
  disconnect: (user: string, client?: string) =>
    call<{ ok: true }>('POST', 'disconnect', client === undefined ? { user } : { user, client }),
  tailUrl: (channel: string) => `/admin/api/tail?channel=${encodeURIComponent(channel)}`,
};
