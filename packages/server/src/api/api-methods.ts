import { DisconnectCode, disconnectOf } from '@tidings/protocol';
import type { BrokerPublishOutcome } from '../broker/types.js';
import type { TidingsNode } from '../core/node.js';
import type { NodePublishItem } from '../core/node-context.js';
import { type ApiFailure, type FailureKind, toFailure } from './api-errors.js';
import type { ApiMethod, ApiRequest } from './api-schemas.js';
import { clientInfoOut, type JsonOut, publicationOut } from './json-output.js';
import { versionsOut } from './versions.js';

/** What the server API needs from a node. `TidingsNode` satisfies it. */
export type ApiNode = Pick<
  TidingsNode,
  | 'publish'
  | 'history'
  | 'removeHistory'
  | 'presence'
  | 'presenceStats'
  | 'channels'
  | 'info'
  | 'nodes'
  | 'disconnectUser'
  | 'unsubscribeUser'
  | 'subscribeUser'
  | 'state'
> &
  Partial<Pick<TidingsNode, 'publishMany'>>;

/**
 * The outcome of one method call. A successful broadcast still lists the failure kinds of its
 * per-channel publishes in `inner`, so the HTTP status can reflect them.
 */
export type MethodOutcome =
  | { readonly ok: true; readonly result: JsonOut; readonly inner: readonly FailureKind[] }
  | { readonly ok: false; readonly failure: ApiFailure };

/** Request-wide context of a call. */
export interface CallContext {
  /** The `Idempotency-Key` header, used by publish and broadcast without `idempotency_key`. */
  readonly idempotencyKey?: string;
}

const encoder = new TextEncoder();

/** `data` (any JSON value) → its compact UTF-8 JSON text; `b64data` → the decoded bytes. */
function payloadBytes(req: { data?: unknown; b64data?: string | undefined }): Uint8Array {
  if (req.b64data !== undefined) return new Uint8Array(Buffer.from(req.b64data, 'base64'));
  return encoder.encode(JSON.stringify(req.data));
}

function publishOptions(
  req: {
    tags?: Record<string, string> | undefined;
    idempotency_key?: string | undefined;
    skip_history?: boolean | undefined;
  },
  ctx: CallContext,
): { idempotencyKey?: string; tags?: Record<string, string>; skipHistory?: boolean } {
  const key = req.idempotency_key ?? ctx.idempotencyKey;
  return {
    ...(key === undefined ? {} : { idempotencyKey: key }),
    ...(req.tags === undefined ? {} : { tags: req.tags }),
    ...(req.skip_history === true ? { skipHistory: true } : {}),
  };
}

/** A method's result plus the failure kinds of its inner operations (broadcast). */
interface Handled {
  readonly result: JsonOut;
  readonly inner?: readonly FailureKind[];
}

type Handler<M extends ApiMethod> = (node: ApiNode, req: ApiRequest<M>, ctx: CallContext) => Promise<Handled>;

const ok = (result: JsonOut): Handled => ({ result });

const handlers: { readonly [M in ApiMethod]: Handler<M> } = {
  async publish(node, req, ctx) {
    const res = await node.publish(req.channel, payloadBytes(req), publishOptions(req, ctx));
    return ok({ offset: res.offset, epoch: res.epoch });
  },

  async broadcast(node, req, ctx) {
    const data = payloadBytes(req);
    const options = publishOptions(req, ctx);
    const inner: FailureKind[] = [];
    const responses = await Promise.all(
      req.channels.map(async (channel): Promise<JsonOut> => {
        try {
          const res = await node.publish(channel, data, options);
          return { result: { offset: res.offset, epoch: res.epoch } };
        } catch (error) {
          const failure = toFailure(error);
          inner.push(failure.kind);
          return { error: { ...failure.error } };
        }
      }),
    );
    return { result: { responses }, inner };
  },

  async history(node, req) {
    const read = await node.history(req.channel, {
      // Centrifugo: no limit means the stream position only.
      limit: req.limit ?? 0,
      ...(req.since === undefined ? {} : { since: req.since }),
      ...(req.reverse === undefined ? {} : { reverse: req.reverse }),
    });
    return ok({ publications: read.publications.map(publicationOut), offset: read.offset, epoch: read.epoch });
  },

  async history_remove(node, req) {
    await node.removeHistory(req.channel);
    return ok({});
  },

  async presence(node, req) {
    const out: Record<string, JsonOut> = {};
    for (const [clientId, info] of Object.entries(await node.presence(req.channel)))
      out[clientId] = clientInfoOut(info);
    return ok({ presence: out });
  },

  async presence_stats(node, req) {
    const stats = await node.presenceStats(req.channel);
    return ok({ num_clients: stats.numClients, num_users: stats.numUsers });
  },

  async channels(node, req) {
    const out: Record<string, JsonOut> = {};
    for (const c of node.channels(req.pattern)) out[c.channel] = { num_clients: c.numClients };
    return ok({ channels: out });
  },

  async info(node) {
    return ok({
      nodes: node.nodes().map((i) => ({
        uid: i.id,
        name: i.name,
        version: i.version,
        num_clients: i.numClients,
        num_users: i.numUsers,
        num_channels: i.numChannels,
        num_subs: i.numSubs,
        uptime: i.uptimeSeconds,
      })),
      versions: versionsOut(node.info().version),
    });
  },

  async disconnect(node, req) {
    await node.disconnectUser(req.user, req.disconnect ?? disconnectOf(DisconnectCode.ForceNoReconnect), {
      ...(req.client === undefined ? {} : { clientId: req.client }),
      ...(req.session === undefined ? {} : { sessionId: req.session }),
      ...(req.whitelist === undefined ? {} : { whitelist: req.whitelist }),
    });
    return ok({});
  },

  async unsubscribe(node, req) {
    await node.unsubscribeUser(req.user, req.channel, req.client === undefined ? {} : { clientId: req.client });
    return ok({});
  },

  async subscribe(node, req) {
    await node.subscribeUser(req.user, req.channel, req.client === undefined ? {} : { clientId: req.client });
    return ok({});
  },
};

/**
 * Runs one validated method against the node. Never throws: failures come back classified
 * (see `FailureKind`).
 */
export async function callMethod<M extends ApiMethod>(
  node: ApiNode,
  method: M,
  req: ApiRequest<M>,
  ctx: CallContext,
): Promise<MethodOutcome> {
  try {
    const handled = await handlers[method](node, req, ctx);
    return { ok: true, result: handled.result, inner: handled.inner ?? [] };
  } catch (error) {
    return { ok: false, failure: toFailure(error) };
  }
}

/**
 * Runs consecutive publish commands of a sequential batch as one `publishMany` (one engine round
 * trip per shard, applied in order) when the node has it, else one after another. Same outcomes,
 * in the same order, as `callMethod` on each.
 */
export async function callPublishes(node: ApiNode, reqs: readonly ApiRequest<'publish'>[]): Promise<MethodOutcome[]> {
  if (node.publishMany === undefined || reqs.length < 2) {
    const out: MethodOutcome[] = [];
    for (const req of reqs) out.push(await callMethod(node, 'publish', req, {}));
    return out;
  }
  const items: (NodePublishItem | undefined)[] = [];
  const early: (MethodOutcome | undefined)[] = [];
  for (const req of reqs) {
    try {
      items.push({ channel: req.channel, data: payloadBytes(req), options: publishOptions(req, {}) });
      early.push(undefined);
    } catch (error) {
      items.push(undefined);
      early.push({ ok: false, failure: toFailure(error) });
    }
  }
  let outcomes: BrokerPublishOutcome[];
  const sent = items.filter((i): i is NodePublishItem => i !== undefined);
  try {
    outcomes = await node.publishMany(sent);
  } catch (error) {
    outcomes = sent.map(() => ({ ok: false, error }));
  }
  let j = 0;
  return early.map((failed): MethodOutcome => {
    if (failed !== undefined) return failed;
    const o = outcomes[j++];
    if (o === undefined) return { ok: false, failure: toFailure(new Error('publishMany: missing outcome')) };
    return o.ok
      ? { ok: true, result: { offset: o.result.offset, epoch: o.result.epoch }, inner: [] }
      : { ok: false, failure: toFailure(o.error) };
  });
}
