// Fuzzing of every client-facing decoder (issue 15): each must either decode or throw a
// TidingsError (which the edge turns into its documented code), never another exception, for
// 10,000 inputs each. fast-check prints the seed of a failure; rerun it with
// `fc.assert(prop, { seed, path })`.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTidingsError } from './errors.js';
import { jsonCodec } from './json-codec.js';
import { msgpackCodec } from './msgpack-codec.js';
import { decodeCursor, encodeCursor, formatPosition, parsePosition } from './position.js';
import { protobufCodec } from './protobuf-codec.js';

const runs = { numRuns: 10_000 };
const enc = new TextEncoder();

/** True when `run` returns or throws a TidingsError; false (fails the property) otherwise. */
function decodesOrRefuses(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (isTidingsError(error)) return true;
    throw error;
  }
}

const commandLike = fc.record(
  {
    id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    connect: fc.oneof(fc.record({ token: fc.string(), data: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
    subscribe: fc.oneof(
      fc.record(
        { channel: fc.string(), recover: fc.boolean(), offset: fc.integer(), epoch: fc.string() },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
    publish: fc.oneof(fc.record({ channel: fc.string(), data: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
    history: fc.jsonValue(),
    ping: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('decoder fuzz (10,000 inputs each)', () => {
  it.each([
    ['JSON', jsonCodec],
    ['Protobuf', protobufCodec],
    ['MessagePack', msgpackCodec],
  ] as const)('%s commands: random bytes decode or throw TidingsError', (_, codec) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => decodesOrRefuses(() => codec.decodeCommands(bytes))),
      runs,
    );
  });

  it('JSON commands: structured, mutated command lines decode or throw TidingsError', () => {
    fc.assert(
      fc.property(fc.array(commandLike, { maxLength: 4 }), fc.nat(), (commands, cut) => {
        const text = commands.map((c) => JSON.stringify(c)).join('\n');
        const bytes = enc.encode(text.slice(0, text.length - (cut % (text.length + 1))));
        return decodesOrRefuses(() => jsonCodec.decodeCommands(bytes));
      }),
      runs,
    );
  });

  it('JSON commands: deep nesting is refused, not a stack overflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 500, max: 20_000 }), (depth) => {
        const bytes = enc.encode(`{"id":1,"publish":{"channel":"a","data":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
        return decodesOrRefuses(() => jsonCodec.decodeCommands(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('stream positions (SSE Last-Event-ID, poll `since`): parse or throw TidingsError; formatted ones round-trip', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => decodesOrRefuses(() => parsePosition(text))),
      runs,
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/), fc.nat(), (epoch, offset) => {
        expect(parsePosition(formatPosition({ epoch, offset }))).toEqual({ epoch, offset });
      }),
      runs,
    );
  });

  it('multi-channel cursors: decode or throw TidingsError; encoded ones round-trip', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (token) => decodesOrRefuses(() => decodeCursor(token))),
      runs,
    );
    fc.assert(
      fc.property(fc.base64String({ maxLength: 200 }), (b64) =>
        decodesOrRefuses(() => decodeCursor(b64.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', ''))),
      ),
      runs,
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z:]{1,20}$/),
          fc.record({ epoch: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), offset: fc.nat() }),
          { maxKeys: 5 },
        ),
        (positions) => {
          expect(decodeCursor(encodeCursor(positions))).toEqual(positions);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
