import { z } from 'zod';

/**
 * The JSON body of `POST /emulation` as the centrifuge SDKs send it. Checked in this order, each
 * with its own message: `session` (a non-empty string), `node` (a string when present), `data`.
 */
export const emulationJsonBodySchema = z.object({
  session: z
    .string({ error: 'session is missing' })
    .min(1, 'session is missing')
    .meta({ description: '`session` of the connect result (a secret, not the client id)' }),
  node: z.string({ error: 'node is not a string' }).optional().meta({ description: '`node` of the connect result' }),
  data: z
    .string({ error: 'data is not a string' })
    .meta({ description: "the commands, as the session's codec writes them (JSON text, one command a line)" }),
});

/** One command batch a client POSTs to the emulation endpoint for its streaming session. */
export interface EmulationRequest {
  /** Id of the node that holds the session (`node` of the connect result). */
  readonly node: string;
  /** The secret session id of the connect result (`session`), not the public client id. */
  readonly session: string;
  /** One transport message of commands in the session's codec. */
  readonly data: Uint8Array;
}

/** An emulation POST body that cannot be read. */
export class EmulationRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmulationRequestError';
  }
}

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an `EmulationRequest` as the centrifuge SDKs send it: JSON
 * `{ "node", "session", "data" }` with `data` the commands' text as a JSON string, or with
 * `protobuf` true the Protobuf message (node = 1, session = 2, data = 3; unknown fields skipped).
 * @throws EmulationRequestError for a body that is not such a message.
 */
export function parseEmulationRequest(body: Uint8Array, protobuf: boolean): EmulationRequest {
  return protobuf ? parseProtobuf(body) : parseJson(body);
}

function parseJson(body: Uint8Array): EmulationRequest {
  let value: unknown;
  try {
    value = JSON.parse(text.decode(body));
  } catch {
    throw new EmulationRequestError('body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EmulationRequestError('body is not a JSON object');
  }
  const parsed = emulationJsonBodySchema.safeParse(value);
  if (!parsed.success) throw new EmulationRequestError(parsed.error.issues[0]?.message ?? 'bad request');
  const { node, session, data } = parsed.data;
  return { node: node ?? '', session, data: utf8.encode(data) };
}

function parseProtobuf(body: Uint8Array): EmulationRequest {
  let node = '';
  let session = '';
  let data: Uint8Array = new Uint8Array(0);
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = body[pos++];
      if (byte === undefined) throw new EmulationRequestError('truncated Protobuf message');
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    throw new EmulationRequestError('varint too long');
  };
  try {
    while (pos < body.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) {
        varint();
        continue;
      }
      const size = wire === 2 ? varint() : wire === 1 ? 8 : wire === 5 ? 4 : -1;
      if (size < 0 || pos + size > body.length) throw new EmulationRequestError('malformed Protobuf message');
      const bytes = body.subarray(pos, pos + size);
      pos += size;
      if (wire !== 2) continue;
      if (field === 1) node = text.decode(bytes);
      else if (field === 2) session = text.decode(bytes);
      else if (field === 3) data = bytes;
    }
  } catch (error) {
    if (error instanceof EmulationRequestError) throw error;
    throw new EmulationRequestError('malformed Protobuf message');
  }
  if (session === '') throw new EmulationRequestError('session is missing');
  return { node, session, data };
}
