/** A parsed JSON value. */
export type Plain = null | boolean | number | string | readonly Plain[] | { readonly [key: string]: Plain };

const encoder = new TextEncoder();

/**
 * The payload bytes of a JSON API publication object: `data` (stored JSON text, carried as
 * `{ __raw: text }` so it comes back byte for byte) or `b64data` (binary).
 */
export function payloadOf(publication: { readonly [key: string]: Plain | undefined }, name = 'data'): Uint8Array {
  const b64 = publication[`b64${name}`];
  if (typeof b64 === 'string') return new Uint8Array(Buffer.from(b64, 'base64'));
  const data = publication[name];
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const raw = (data as { readonly [key: string]: Plain }).__raw;
    if (typeof raw === 'string') return encoder.encode(raw);
  }
  return data === undefined ? new Uint8Array() : encoder.encode(JSON.stringify(data));
}
