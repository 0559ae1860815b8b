// Two nodes adding the same stream at once: nats-server 2.9 can answer the loser with 10065
// ("subjects overlap") instead of 10058 ("name in use"); the node must use the stream, not fail.
import { JetStreamApiError } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ensureStream } from './nats-engine.js';

const overlap = () =>
  new JetStreamApiError({ err_code: 10065, code: 400, description: 'subjects overlap with an existing stream' });

function jsm(exists: boolean) {
  const streams = {
    add: async () => {
      throw overlap();
    },
    info: async (name: string) => {
      if (!exists) throw new JetStreamApiError({ err_code: 10059, code: 404, description: 'stream not found' });
      return { config: { name } };
    },
  };
  return { streams } as unknown as Parameters<typeof ensureStream>[0];
}

describe('ensureStream', () => {
  it('uses the stream another node just added when the add answers "subjects overlap"', async () => {
    await expect(ensureStream(jsm(true), { name: 'TIDINGS', subjects: ['t.>'] })).resolves.toBeUndefined();
  });

  it('still fails when the subjects overlap a stream of another name', async () => {
    await expect(ensureStream(jsm(false), { name: 'TIDINGS', subjects: ['t.>'] })).rejects.toThrow('subjects overlap');
  });
});
