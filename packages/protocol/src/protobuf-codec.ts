import { type DescMessage, fromBinary, toBinary } from '@bufbuild/protobuf';
import { concatBytes } from './bytes.js';
import type { ClientCodec, Codec } from './codec.js';
import { isTidingsError, TidingsError, TidingsErrorCode } from './errors.js';
import { CommandSchema, type Command as PbCommand, type Reply as PbReply, ReplySchema } from './gen/client_pb.js';
import { type MessagePlan, planOf } from './message-plan.js';
import type { Command, Push, Reply } from './messages.js';
import { fromPbShape, toPbShape } from './protobuf-map.js';
import { encodeFastPush, isFastPush } from './protobuf-push.js';
import { type ReadCursor, readVarint, varintSize, writeVarint } from './varint.js';

const commandPlan = planOf(CommandSchema);
const replyPlan = planOf(ReplySchema);
const readOptions = { readUnknownFields: false };

function bad(reason: string, cause?: unknown): TidingsError {
  return new TidingsError(TidingsErrorCode.BadFrame, `bad protobuf frame: ${reason}`, { cause });
}

/** `bytes` with its varint length prefix, in a new buffer. */
function delimit(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(bytes.length) + bytes.length);
  out.set(bytes, writeVarint(out, 0, bytes.length));
  return out;
}

// toPbShape builds complete shapes (every field and $typeName), which is what toBinary reads.
function encodeReplyUnit(reply: Reply): Uint8Array {
  const shape = toPbShape(replyPlan, reply as Record<string, unknown>) as unknown as PbReply;
  return delimit(toBinary(ReplySchema, shape));
}

function encodeCommandUnit(command: Command): Uint8Array {
  const shape = toPbShape(commandPlan, command as Record<string, unknown>) as unknown as PbCommand;
  return delimit(toBinary(CommandSchema, shape));
}

/** Splits `frame` into varint-delimited units and decodes each as a message of `schema`. */
function decodeUnits(frame: Uint8Array, schema: DescMessage, plan: MessagePlan): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const cursor: ReadCursor = { pos: 0 };
  const end = frame.length;
  while (cursor.pos < end) {
    const at = cursor.pos;
    const length = readVarint(frame, end, cursor);
    if (Number.isNaN(length)) throw bad(`truncated or oversized length prefix at byte ${at}`);
    const start = cursor.pos;
    if (length > end - start) throw bad(`unit of ${length} bytes at byte ${at} runs past the frame end (${end})`);
    let message: Record<string, unknown>;
    try {
      message = fromBinary(schema, frame.subarray(start, start + length), readOptions) as Record<string, unknown>;
    } catch (err) {
      throw bad(`undecodable ${schema.name} at byte ${at}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    try {
      out.push(fromPbShape(plan, message));
    } catch (err) {
      if (isTidingsError(err)) throw err;
      throw bad(`unconvertible ${schema.name} at byte ${at}`, err);
    }
    cursor.pos = start + length;
  }
  return out;
}

/**
 * The Centrifuge Protobuf protocol (WebSocket subprotocol `centrifuge-protobuf`, binary frames):
 * each unit is a Command or Reply prefixed with its varint length, so a batch is a plain
 * concatenation. A zero-length Command is the client's pong, a zero-length Reply the server's ping.
 *
 * Publication, join, leave and message pushes are written by a dedicated encoder (payload copied
 * once); everything else goes through protobuf-es. Decoded byte fields are copies, not views.
 */
export const protobufCodec: Codec & ClientCodec = {
  name: 'protobuf',
  binary: true,
  decodeCommands(frame: Uint8Array): Command[] {
    return decodeUnits(frame, CommandSchema, commandPlan) as Command[];
  },
  encodeReply(reply: Reply): Uint8Array {
    const { push } = reply;
    if (push !== undefined && isFastPush(push) && isPushOnly(reply)) return encodeFastPush(push);
    return encodeReplyUnit(reply);
  },
  encodePush(push: Push): Uint8Array {
    return isFastPush(push) ? encodeFastPush(push) : encodeReplyUnit({ push });
  },
  join: concatBytes,
  encodeCommands(commands: readonly Command[]): Uint8Array {
    return concatBytes(commands.map(encodeCommandUnit));
  },
  decodeReplies(frame: Uint8Array): Reply[] {
    return decodeUnits(frame, ReplySchema, replyPlan) as Reply[];
  },
};

function isPushOnly(reply: Reply): boolean {
  for (const key in reply) if (key !== 'push' && reply[key as keyof Reply] !== undefined) return false;
  return true;
}
