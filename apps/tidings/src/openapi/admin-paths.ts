import { jsonResponse, jsonSchemaOf, type OpenApiPaths, ref, streamResponse } from '@tidings/server';
import { z } from 'zod';
import { disconnectBody, loginBody, publishBody } from '../admin/admin-routes.js';

/** Prefix of the admin console's JSON API. */
export const adminApiPrefix = '/admin/api';

/** The admin API's endpoints, by name (`<adminApiPrefix>/<name>`) and method. */
export const adminEndpoints = {
  login: 'post',
  logout: 'post',
  session: 'get',
  stats: 'get',
  channels: 'get',
  channel: 'get',
  publish: 'post',
  disconnect: 'post',
  tail: 'get',
} as const;

/** `{ "error": { code, message } }` of the admin API: its codes are strings (docs/errors.md, "Admin console errors"). */
export const adminErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

const ok = z.object({ ok: z.literal(true) });
const nodeRef = z.object({ id: z.string(), name: z.string(), version: z.string() });
const count = z.number().int().min(0);
const nodeInfo = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  uptimeSeconds: count,
  numClients: count,
  numUsers: count,
  numSubs: count,
  numChannels: count,
});
const quantiles = z.object({ p50: z.number().nullable(), p99: z.number().nullable() });
const sample = z.object({
  t: z.number(),
  connections: z.record(z.string(), count),
  subscriptions: count,
  publicationsPerSec: z.number(),
  deliveriesPerSec: z.record(z.string(), z.number()),
  latencyMs: z.record(z.string(), quantiles),
});

/** Response bodies of the admin API (built in admin/admin-routes.ts). */
export const adminResponseSchemas = {
  login: ok,
  logout: ok,
  session: z.object({ node: nodeRef, engine: z.string(), tailUser: z.string() }),
  stats: z.object({
    node: nodeRef,
    engine: z.object({ type: z.string(), ready: z.boolean() }),
    nodes: z.array(nodeInfo),
    samples: z.array(sample),
  }),
  channels: z.object({ channels: z.array(z.object({ channel: z.string(), numClients: count })) }),
  channel: z.object({
    channel: z.string(),
    subscribers: count,
    presence: z.array(z.object({ client: z.string(), user: z.string() })).nullable(),
    history: z
      .object({
        epoch: z.string(),
        offset: count,
        publications: z.array(
          z.object({ offset: count, time: z.number(), data: z.unknown().optional(), b64data: z.string().optional() }),
        ),
      })
      .nullable(),
  }),
  publish: z.object({ offset: count, epoch: z.string() }),
  disconnect: ok,
} as const;

const errorRef = ref('AdminError');
const sessionSecurity = [{ adminSession: [] }, { adminToken: [] }];

const summaries: Readonly<Record<keyof typeof adminEndpoints, string>> = {
  login: 'Log in with admin.password (sets the session cookie)',
  logout: 'Log out (clears the session cookie)',
  session: 'Who is logged in where: node and engine',
  stats: 'Node figures and the samples the console charts (`?since=` ms)',
  channels: 'Channels with subscribers on this node (`?pattern=`)',
  channel: 'One channel: subscribers, presence, last publications (`?channel=`)',
  publish: 'Publish JSON into a channel',
  disconnect: 'Disconnect a user (or one client)',
  tail: 'Live tail of a channel as Server-Sent Events (`?channel=`)',
};

const requests: Partial<Record<keyof typeof adminEndpoints, { schema: z.ZodType; example: unknown }>> = {
  login: { schema: loginBody, example: { password: 'correct horse battery staple' } },
  publish: { schema: publishBody, example: { channel: 'chat:lobby', data: { text: 'hello from the console' } } },
  disconnect: { schema: disconnectBody, example: { user: '42' } },
};

/**
 * The admin console (`/admin`, docs/admin.md): the page and the JSON API behind the admin
 * password or token. Request schemas are the zod schemas admin-routes.ts parses with. Every
 * endpoint answers 404 `admin_disabled` while the console is off.
 */
export function adminPaths(): OpenApiPaths {
  const paths: Record<string, unknown> = {
    '/admin': {
      get: {
        operationId: 'admin_page',
        summary: 'The admin console page',
        description: 'Its scripts and styles are under `/admin/assets/`. 404 while the console is off or not built.',
        tags: ['Admin console'],
        responses: {
          '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
          '404': jsonResponse('the console is off (`admin_disabled`) or not built', errorRef),
          '405': jsonResponse('not GET', errorRef),
        },
      },
    },
  };
  for (const [name, method] of Object.entries(adminEndpoints) as [keyof typeof adminEndpoints, 'get' | 'post'][]) {
    const request = requests[name];
    const isLogin = name === 'login' || name === 'logout';
    const success =
      name === 'tail'
        ? streamResponse(
            'the SSE stream of the channel (events as on the one-way SSE endpoint)',
            'text/event-stream',
            { type: 'object' },
            'event: connected\ndata: {"type":"connected","client":"c1","channels":["chat:lobby"]}\n\n',
          )
        : jsonResponse('done', jsonSchemaOf(adminResponseSchemas[name], 'output'));
    paths[`${adminApiPrefix}/${name}`] = {
      [method]: {
        operationId: `admin_${name}`,
        summary: summaries[name],
        description:
          method === 'post'
            ? 'POST bodies must be `Content-Type: application/json` and same-origin (403 otherwise).'
            : 'Needs the session cookie or `Authorization: Bearer <admin.token>`.',
        tags: ['Admin console'],
        ...(isLogin ? {} : { security: sessionSecurity }),
        ...(request === undefined
          ? {}
          : {
              requestBody: {
                required: true,
                content: {
                  'application/json': {
                    schema: jsonSchemaOf(request.schema, 'input'),
                    examples: { example: { value: request.example } },
                  },
                },
              },
            }),
        responses: {
          '200': success,
          '400': jsonResponse('malformed body or parameter, or a refused channel', errorRef),
          '401': jsonResponse('not logged in, or a wrong password', errorRef),
          '403': jsonResponse('a POST that is not same-origin JSON', errorRef),
          '404': jsonResponse('the console is off (`admin_disabled`)', errorRef),
          '405': jsonResponse('wrong method', errorRef),
          ...(name === 'login' ? { '429': jsonResponse('too many failed logins; with Retry-After', errorRef) } : {}),
          '503': jsonResponse('engine unavailable; with Retry-After', errorRef),
        },
      },
    };
  }
  return paths as OpenApiPaths;
}
