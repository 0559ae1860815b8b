import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClientCodec, Codec } from './codec.js';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import type { messageArbitraries } from './message-arbitraries.test-helpers.js';

/** Asserts that `fn` throws a `TidingsError` with code BadFrame. */
export function expectBadFrame(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(isTidingsError(err) && err.code === TidingsErrorCode.BadFrame, String(err)).toBe(true);
    return;
  }
  expect.fail('expected a BadFrame error');
}

/** The round-trip properties every codec must satisfy, as one vitest suite. */
export function describeCodecRoundTrips(codec: Codec & ClientCodec, arb: ReturnType<typeof messageArbitraries>): void {
  describe(`${codec.name} codec round trips`, () => {
    it('commands survive encodeCommands / decodeCommands, one at a time and batched', () => {
      fc.assert(
        fc.property(fc.array(arb.command, { minLength: 1, maxLength: 4 }), (commands) => {
          expect(codec.decodeCommands(codec.encodeCommands(commands))).toEqual(commands);
        }),
      );
    });

    it('replies survive encodeReply / join / decodeReplies', () => {
      fc.assert(
        fc.property(fc.array(arb.reply, { minLength: 1, maxLength: 4 }), (replies) => {
          const frame = codec.join(replies.map((r) => codec.encodeReply(r)));
          expect(codec.decodeReplies(frame)).toEqual(replies);
        }),
      );
    });

    it('encodePush equals encodeReply({ push }) and decodes to { push }', () => {
      fc.assert(
        fc.property(arb.push, (push) => {
          const unit = codec.encodePush(push);
          expect(unit).toEqual(codec.encodeReply({ push }));
          expect(codec.decodeReplies(unit)).toEqual([{ push }]);
        }),
      );
    });
  });
}
