import { isTidingsError } from '@tidings/protocol';
import { describe, expect, it } from 'vitest';
import { compileChannelRule } from './channel-rule.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const none = new Uint8Array();

describe('compileChannelRule', () => {
  it('fills variables, dot tokens of a variable and JSON fields of the payload', () => {
    const rule = compileChannelRule('prices:{subject.1}-{data.venue.code}-{field.kind}', 'x');
    expect(rule.resolve({ subject: 'ticks.AAPL.v1', 'field.kind': 'trade' }, bytes({ venue: { code: 7 } }))).toEqual({
      ok: true,
      channel: 'prices:AAPL-7-trade',
    });
  });

  it('a literal template maps everything to one channel', () => {
    expect(compileChannelRule('feed:all', 'x').resolve({}, none)).toEqual({ ok: true, channel: 'feed:all' });
  });

  it('is unmapped when a placeholder is missing or empty, or the payload is not JSON', () => {
    expect(compileChannelRule('a:{stream}', 'x').resolve({}, none)).toEqual({
      ok: false,
      reason: '{stream} is empty or missing',
    });
    expect(compileChannelRule('a:{subject.5}', 'x').resolve({ subject: 'a.b' }, none).ok).toBe(false);
    expect(compileChannelRule('a:{data.id}', 'x').resolve({}, bytes({ id: { nested: 1 } })).ok).toBe(false);
    expect(compileChannelRule('a:{data.id}', 'x').resolve({}, new TextEncoder().encode('not json'))).toEqual({
      ok: false,
      reason: 'payload is not JSON, but the channel template reads {data.…}',
    });
  });

  it('rejects bad templates at start with the option path', () => {
    for (const bad of ['', 'a:{', 'a:{}', 'a:}b', 'a:{data}', 'a:{data.}', 'x}{y}']) {
      let error: unknown;
      try {
        compileChannelRule(bad, 'ingest.sources[0].channel');
      } catch (e) {
        error = e;
      }
      expect(isTidingsError(error) && error.code === 'TIDINGS_ERR_CONFIG', bad).toBe(true);
      expect(String((error as Error).message)).toContain('ingest.sources[0].channel');
    }
  });
});
