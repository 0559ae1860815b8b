/**
 * Base-128 varints (protobuf wire format) for unsigned integers up to 2^53 - 1, without BigInt.
 */

/** Bytes needed to encode `value` (a safe non-negative integer). */
export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  let n = 4;
  let v = Math.floor(value / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/** Writes `value` (a safe non-negative integer) at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  let v = value;
  while (v > 0x7fffffff) {
    // Above 2^31 bit operations would truncate; use arithmetic for the high part.
    out[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

/** A read position, advanced by `readVarint`. */
export interface ReadCursor {
  pos: number;
}

/**
 * Reads an unsigned varint at `cursor.pos` not past `end`, advancing the cursor. Returns NaN when
 * the input ends inside the varint or the value exceeds 2^53 - 1 (the caller raises its own error).
 */
export function readVarint(buf: Uint8Array, end: number, cursor: ReadCursor): number {
  let value = 0;
  let scale = 1;
  let pos = cursor.pos;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return Number.NaN;
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) return Number.NaN;
      cursor.pos = pos;
      return value;
    }
    scale *= 0x80;
  }
  return Number.NaN;
}
