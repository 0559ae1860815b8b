// Helpers the multi-node bench scripts share (cross-node.mjs, many-nodes.mjs, workers.mjs,
// publish-api.mjs): waiting for a port, the engine section of a node's config on the shared
// Redis or NATS, and removing what a run left in that engine.
import { connect as tcpConnect } from 'node:net';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once something accepts TCP on 127.0.0.1:`port` (true) or after `ms` (false). */
export async function listening(port, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

/** The JetStream stream name for a run's key prefix: `tag` + the prefix's last 8 letters/digits. */
export const streamOf = (tag, prefix) => `${tag}_${prefix.replace(/[^A-Za-z0-9]/g, '').slice(-8)}`;

/** The `engine` section of a node's config on the shared Redis (key prefix) or NATS (stream). */
export function engineSection(engine, prefix, stream) {
  return engine === 'redis'
    ? { type: 'redis', url: 'redis://127.0.0.1:6379', prefix }
    : { type: 'nats', servers: ['127.0.0.1:4222'], streamName: stream, subjectPrefix: stream };
}

/** Deletes a run's Redis keys under `prefix`, or its NATS streams named from `stream`. */
export async function cleanEngine(engine, prefix, stream) {
  if (engine === 'redis') {
    const { createClient } = await import('redis');
    const c = createClient({ url: 'redis://127.0.0.1:6379' });
    await c.connect();
    for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
      if (keys.length > 0) await c.unlink(keys);
    await c.close();
    return;
  }
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: '127.0.0.1:4222' });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [stream, `${stream}_PRESENCE`, `${stream}_IDEMPOTENCY`])
      await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
