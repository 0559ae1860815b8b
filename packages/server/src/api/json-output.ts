import type { ClientInfo } from '@tidings/protocol';
import type { StreamPublication } from '../broker/types.js';

/**
 * JSON text to splice verbatim into a response, so stored payloads come back byte for byte
 * (no parse → stringify round trip that would reformat them or round big integers).
 */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** A value `stringifyJson` can write. */
export type JsonOut =
  | null
  | boolean
  | number
  | string
  | RawJson
  | readonly JsonOut[]
  | { readonly [key: string]: JsonOut | undefined };

/** Like `JSON.stringify`, but writes `RawJson` as is and skips `undefined` object members. */
export function stringifyJson(value: JsonOut): string {
  if (value instanceof RawJson) return value.text;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v: JsonOut) => stringifyJson(v)).join(',')}]`;
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${stringifyJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as spliceable JSON when they are UTF-8 JSON text, else undefined. */
export function jsonOf(bytes: Uint8Array): RawJson | undefined {
  if (bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return new RawJson(text);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Writes bytes under `name` when they are JSON text, else base64 under `b64<name>` (binary
 * payloads published with `b64data` come back the same way). Empty bytes write nothing.
 */
export function bytesField(name: string, bytes: Uint8Array | undefined): Record<string, JsonOut> {
  if (bytes === undefined || bytes.byteLength === 0) return {};
  const json = jsonOf(bytes);
  return json === undefined ? { [`b64${name}`]: base64(bytes) } : { [name]: json };
}

/** ClientInfo as Centrifugo's API writes it: `client`, `user`, `conn_info`, `chan_info`. */
export function clientInfoOut(info: ClientInfo): JsonOut {
  return {
    client: info.client,
    user: info.user,
    ...bytesField('conn_info', info.connInfo),
    ...bytesField('chan_info', info.chanInfo),
  };
}

/** A history publication: `data` (or `b64data`), `info`, `offset`, `tags`. */
export function publicationOut(pub: StreamPublication): JsonOut {
  return {
    ...(pub.data.byteLength === 0 ? { b64data: '' } : bytesField('data', pub.data)),
    ...(pub.info === undefined ? {} : { info: clientInfoOut(pub.info) }),
    offset: pub.offset,
    ...(pub.tags === undefined || Object.keys(pub.tags).length === 0 ? {} : { tags: { ...pub.tags } }),
  };
}
