/**
 * UTF-8 helpers on top of TextEncoder/TextDecoder (the only platform APIs this package uses).
 */

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as content instead of silently dropping it.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-8 encoding of `text`; lone surrogates become U+FFFD, as TextEncoder does. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing a `TypeError` on malformed input. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/** Decodes UTF-8, replacing malformed sequences with U+FFFD. */
export function decodeUtf8Lossy(bytes: Uint8Array): string {
  return lossyDecoder.decode(bytes);
}

/** Number of bytes TextEncoder produces for `text` (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      // A valid pair is 2 UTF-16 units and 4 bytes.
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2;
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

/**
 * Writes `text` at `pos` of `out`, which must have room for `byteLength` bytes (its
 * `utf8Length`). Returns the position after it. ASCII is copied without TextEncoder.
 */
export function writeUtf8(out: Uint8Array, pos: number, text: string, byteLength: number): number {
  if (byteLength === text.length) {
    for (let i = 0; i < byteLength; i++) out[pos + i] = text.charCodeAt(i);
    return pos + byteLength;
  }
  encoder.encodeInto(text, out.subarray(pos, pos + byteLength));
  return pos + byteLength;
}
