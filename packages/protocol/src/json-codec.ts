import type { ClientCodec, Codec } from './codec.js';
import { CommandSchema, ReplySchema } from './gen/client_pb.js';
import { decodeJsonLines, decodeJsonObject } from './json-decode.js';
import { encodeJsonMessage } from './json-encode.js';
import { planOf } from './message-plan.js';
import type { Command, Push, Reply } from './messages.js';
import { allocateBytes } from './slab.js';

const commandPlan = planOf(CommandSchema);
const replyPlan = planOf(ReplySchema);

/**
 * Joins units with a newline between them and none at the end, the framing of the Centrifuge
 * JSON protocol (centrifuge-js splits on `\n` and skips empty lines).
 */
function joinLines(units: readonly Uint8Array[]): Uint8Array {
  if (units.length === 1) return units[0] as Uint8Array;
  let size = units.length > 0 ? units.length - 1 : 0;
  for (const unit of units) size += unit.length;
  const out = allocateBytes(size);
  let pos = 0;
  for (const unit of units) {
    if (pos > 0) out[pos++] = 0x0a;
    out.set(unit, pos);
    pos += unit.length;
  }
  return out;
}

/**
 * The Centrifuge JSON protocol (WebSocket text frames, no subprotocol): one JSON object per line,
 * snake_case names, defaults omitted, byte fields (`data`, `conn_info`, `chan_info`) embedded as
 * raw JSON. Empty command `{}` is the client's pong, empty reply `{}` the server's ping.
 *
 * Byte fields that do not hold valid JSON are sent as a JSON string of their UTF-8 text (see
 * json-encode.ts). Decoded byte fields are exact copies of the received JSON source.
 */
export const jsonCodec: Codec & ClientCodec = {
  name: 'json',
  binary: false,
  decodeCommands(frame: Uint8Array): Command[] {
    return decodeJsonLines(frame, commandPlan) as Command[];
  },
  encodeReply(reply: Reply): Uint8Array {
    return encodeJsonMessage(replyPlan, reply);
  },
  encodePush(push: Push): Uint8Array {
    return encodeJsonMessage(replyPlan, { push });
  },
  join: joinLines,
  encodeCommands(commands: readonly Command[]): Uint8Array {
    return joinLines(commands.map((command) => encodeJsonMessage(commandPlan, command)));
  },
  decodeReplies(frame: Uint8Array): Reply[] {
    return decodeJsonLines(frame, replyPlan) as Reply[];
  },
};

/**
 * Decodes exactly one JSON command object (surrounding whitespace allowed) from UTF-8 bytes,
 * e.g. a command carried by an HTTP emulation request. Throws `TidingsError` BadFrame.
 */
export function decodeJsonCommand(bytes: Uint8Array): Command {
  return decodeJsonObject(bytes, commandPlan) as Command;
}
