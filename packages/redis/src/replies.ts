import { decodeStreamPublication, type StreamPublication } from '@tidings/server';
import type { Reply } from './connection.js';

/** First byte of a pub/sub message: publication, run of publications, join or leave. */
export const MessageKind = { Publication: 0x70, Publications: 0x50, Join: 0x6a, Leave: 0x6c } as const;

const SPACE = 0x20;

/** Parses `p<offset> <time> <epoch> <body>` as built by the publish script. */
export function decodePublicationMessage(message: Buffer): { pub: StreamPublication; epoch: string } {
  const { offset, time, epoch, rest } = readHead(message, 'publication message');
  return { pub: decodeStreamPublication(message.subarray(rest), offset, time), epoch };
}

/** The head `<kind><offset> <time> <epoch> ` shared by `p` and `P` messages; `rest` is where the bodies start. */
function readHead(message: Buffer, what: string): { offset: number; time: number; epoch: string; rest: number } {
  const a = message.indexOf(SPACE, 1);
  const b = message.indexOf(SPACE, a + 1);
  const c = message.indexOf(SPACE, b + 1);
  if (a < 0 || b < 0 || c < 0) throw new Error(`malformed ${what} from Redis`);
  const offset = Number(message.toString('latin1', 1, a));
  const time = Number(message.toString('latin1', a + 1, b));
  return { offset, time, epoch: message.toString('latin1', b + 1, c), rest: c + 1 };
}

/**
 * Parses `P<first offset> <time> <epoch> ` followed by `<body length> <body>` per publication
 * (a batch's publications of one channel, at consecutive offsets; see `PUBLISH_MANY_SCRIPT`)
 * and hands each to `each` in offset order. Throws on a malformed message before handing any.
 */
export function decodePublicationRun(message: Buffer, each: (pub: StreamPublication, epoch: string) => void): void {
  const { offset: first, time, epoch, rest } = readHead(message, 'publication run');
  const bodies: Buffer[] = [];
  for (let at = rest; at < message.length; ) {
    const space = message.indexOf(SPACE, at);
    const length = space < 0 ? Number.NaN : Number(message.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length < 0 || space + 1 + length > message.length)
      throw new Error('malformed publication run from Redis');
    bodies.push(message.subarray(space + 1, space + 1 + length));
    at = space + 1 + length;
  }
  const pubs = bodies.map((body, i) => decodeStreamPublication(body, first + i, time));
  for (const pub of pubs) each(pub, epoch);
}

/** Decodes one XRANGE entry `[<offset>-0, [field, value, ...]]` (fields `t` time, `b` body). */
export function decodeEntry(entry: Reply): StreamPublication {
  const [id, fields] = asArray(entry, 2);
  const idText = asText(id);
  const offset = Number(idText.slice(0, idText.indexOf('-')));
  const values = asArray(fields);
  let time = 0;
  let body: Buffer | undefined;
  for (let i = 0; i + 1 < values.length; i += 2) {
    const field = asText(values[i]);
    if (field === 't') time = Number(asText(values[i + 1]));
    else if (field === 'b') body = asBuffer(values[i + 1]);
  }
  if (body === undefined) throw new Error(`history entry ${idText} has no body`);
  return decodeStreamPublication(body, offset, time);
}

/** The reply as an array of at least `length` items; throws on any other shape. */
export function asArray(reply: Reply | undefined, length = 0): Reply[] {
  if (!Array.isArray(reply) || reply.length < length) throw new Error('unexpected reply shape from Redis');
  return reply;
}

/** The reply as a bulk string; throws on any other type. */
export function asBuffer(reply: Reply | undefined): Buffer {
  if (!Buffer.isBuffer(reply)) throw new Error('unexpected reply type from Redis');
  return reply;
}

/** The reply as UTF-8 text. */
export function asText(reply: Reply | undefined): string {
  return asBuffer(reply).toString();
}

/** The reply as a number (an integer reply, or a bulk string holding one). */
export function asNumber(reply: Reply | undefined): number {
  if (typeof reply === 'number') return reply;
  return Number(asText(reply));
}
