import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createNatsEngine, type NatsEngine, type NatsEngineOptions } from './nats-engine.js';

/** The NATS every test here runs against (.ci/run starts it). */
export const NATS_URL = process.env.TIDINGS_TEST_NATS_URL ?? '127.0.0.1:4222';

const RUN = randomBytes(4).toString('hex');
let seq = 0;

/** A fresh engine on its own streams and subjects, so tests never touch anyone else's. */
export function testEngine(options: Partial<NatsEngineOptions> = {}): NatsEngine & {
  streamName: string;
  cleanup: () => Promise<void>;
} {
  const n = ++seq;
  const streamName = options.streamName ?? `TIDINGS_TEST_${RUN}_${n}`;
  const engine = createNatsEngine({
    servers: NATS_URL,
    subjectPrefix: `tidings-test.${RUN}.${n}`,
    storage: 'memory',
    ...options,
    streamName,
  });
  return { ...engine, streamName, cleanup: () => deleteStreams(streamName) };
}

/** Deletes the history, presence, idempotency and state streams named after `streamName` (absent ones are fine). */
export async function deleteStreams(streamName: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [streamName, `${streamName}_PRESENCE`, `${streamName}_IDEMPOTENCY`, `${streamName}_STATE`])
      await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Fails (never skips) when the test NATS is not reachable or has no JetStream. */
export async function assertNatsReachable(): Promise<void> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
  } catch (err) {
    throw new Error(`NATS with JetStream is not reachable at ${NATS_URL}; .ci/run starts it (${String(err)})`);
  }
}
