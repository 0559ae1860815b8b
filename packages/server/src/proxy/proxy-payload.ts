import type { IncomingHttpHeaders } from 'node:http';
import type { CodecName } from '@tidings/protocol';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Centrifugo's `encoding` field: JSON clients carry JSON payloads, the others opaque bytes. */
export function encodingOf(protocol: CodecName): 'json' | 'binary' {
  return protocol === 'json' ? 'json' : 'binary';
}

/**
 * A client payload as the proxy request carries it: embedded JSON in `data` for JSON clients
 * (their bytes are JSON text), base64 in `b64data` otherwise, or for bytes that are not JSON.
 */
export function dataFields(protocol: CodecName, data: Uint8Array | undefined): Record<string, unknown> {
  if (data === undefined || data.length === 0) return {};
  if (protocol === 'json') {
    try {
      return { data: JSON.parse(utf8.decode(data)) as unknown };
    } catch {
      // Not JSON after all: send it as bytes rather than failing the client's command.
    }
  }
  return { b64data: Buffer.from(data).toString('base64') };
}

/** `b64<name>` (base64) or `<name>` (any JSON value, re-encoded as JSON text) of a reply. */
export function bytesField(result: Record<string, unknown>, name: string): Uint8Array | undefined {
  const b64 = result[`b64${name}`];
  if (typeof b64 === 'string' && b64 !== '') return new Uint8Array(Buffer.from(b64, 'base64'));
  const value = result[name];
  if (value === undefined || value === null) return undefined;
  return encoder.encode(JSON.stringify(value));
}

/** A finite number field of a reply, else undefined. */
export function numberField(result: Record<string, unknown>, name: string): number | undefined {
  const value = result[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The strings of a JSON array; anything else is dropped. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/**
 * The request headers to forward: those on the allow-list (lower-case names), plus a `Cookie`
 * header holding only the allowed cookies. Nothing else leaves the node.
 */
export function pickHeaders(
  headers: IncomingHttpHeaders,
  allowed: readonly string[],
  cookies: readonly string[],
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of allowed) {
    if (name === 'cookie') continue;
    const value = headers[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.join(', ');
  }
  const cookie = headers.cookie;
  if (cookies.length > 0 && typeof cookie === 'string') {
    const kept = cookie
      .split(';')
      .map((part) => part.trim())
      .filter((part) => {
        const eq = part.indexOf('=');
        return eq > 0 && cookies.includes(part.slice(0, eq));
      });
    if (kept.length > 0) picked.cookie = kept.join('; ');
  }
  return picked;
}
