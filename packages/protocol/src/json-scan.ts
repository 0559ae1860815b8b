/**
 * Byte-level JSON validation (RFC 8259), used to splice raw JSON payloads safely.
 *
 * Works on UTF-8 bytes without building values: strings are checked for escapes, control
 * characters and well-formed UTF-8 (a WebSocket text frame with invalid UTF-8 would close every
 * browser connection that receives it). Nesting is tracked with an explicit stack, so deep input
 * cannot overflow the call stack; it is bounded by `maxJsonDepth`.
 */

/** Deepest nesting of arrays and objects accepted inside one value. */
export const maxJsonDepth = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index of the first non-whitespace byte at or after `pos` (or `end`). */
export function skipWhitespace(buf: Uint8Array, pos: number, end: number): number {
  while (pos < end) {
    const c = buf[pos] as number;
    if (c === 0x20 || c === 0x09) pos++;
    else if (c === 0x0a || c === 0x0d) {
      sawLineBreak = true;
      pos++;
    } else break;
  }
  return pos;
}

// Set by skipWhitespace; read by jsonShape, which resets it first (the scan is synchronous).
let sawLineBreak = false;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function inRange(buf: Uint8Array, pos: number, end: number, lo: number, hi: number): boolean {
  if (pos >= end) return false;
  const c = buf[pos] as number;
  return c >= lo && c <= hi;
}

// Length of the well-formed UTF-8 sequence starting with lead byte `c` at `pos`, or -1
// (Unicode 15, table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
function utf8Sequence(buf: Uint8Array, pos: number, end: number, c: number): number {
  if (c >= 0xc2 && c <= 0xdf) return inRange(buf, pos + 1, end, 0x80, 0xbf) ? 2 : -1;
  let lo2 = 0x80;
  let hi2 = 0xbf;
  let n: number;
  if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo2 = 0xa0;
    else if (c === 0xed) hi2 = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo2 = 0x90;
    else if (c === 0xf4) hi2 = 0x8f;
  } else {
    return -1;
  }
  if (!inRange(buf, pos + 1, end, lo2, hi2)) return -1;
  for (let i = 2; i < n; i++) if (!inRange(buf, pos + i, end, 0x80, 0xbf)) return -1;
  return n;
}

/**
 * Validates the JSON string whose opening quote is at `pos`; returns the index after its closing
 * quote, or -1 when it is malformed or unterminated before `end`.
 */
export function scanString(buf: Uint8Array, pos: number, end: number): number {
  pos++;
  while (pos < end) {
    let c = buf[pos] as number;
    // Fast path: plain printable ASCII, the bulk of most payloads.
    while (c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH && ++pos < end) c = buf[pos] as number;
    if (pos >= end) return -1;
    if (c === QUOTE) return pos + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = pos + 1 < end ? (buf[pos + 1] as number) : -1;
      if (e === 0x75) {
        if (pos + 6 > end) return -1;
        for (let i = 2; i < 6; i++) if (!isHex(buf[pos + i] as number)) return -1;
        pos += 6;
      } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e) {
        pos += 2;
      } else if (e === 0x72 || e === 0x74) {
        pos += 2;
      } else {
        return -1;
      }
    } else if (c < 0x80) {
      pos++;
    } else {
      const n = utf8Sequence(buf, pos, end, c);
      if (n < 0) return -1;
      pos += n;
    }
  }
  return -1;
}

function scanDigits(buf: Uint8Array, pos: number, end: number): number {
  const start = pos;
  while (pos < end && (buf[pos] as number) >= 0x30 && (buf[pos] as number) <= 0x39) pos++;
  return pos === start ? -1 : pos;
}

/** Validates a JSON number at `pos`; returns the index after it, or -1. */
export function scanNumber(buf: Uint8Array, pos: number, end: number): number {
  if (buf[pos] === 0x2d) pos++;
  if (pos >= end) return -1;
  if (buf[pos] === 0x30) pos++;
  else if (inRange(buf, pos, end, 0x31, 0x39)) pos = scanDigits(buf, pos, end);
  else return -1;
  if (pos < end && buf[pos] === 0x2e) {
    pos = scanDigits(buf, pos + 1, end);
    if (pos < 0) return -1;
  }
  if (pos < end && (buf[pos] === 0x65 || buf[pos] === 0x45)) {
    pos++;
    if (pos < end && (buf[pos] === 0x2b || buf[pos] === 0x2d)) pos++;
    pos = scanDigits(buf, pos, end);
  }
  return pos;
}

function scanLiteral(buf: Uint8Array, pos: number, end: number, literal: string): number {
  if (pos + literal.length > end) return -1;
  for (let i = 0; i < literal.length; i++) if (buf[pos + i] !== literal.charCodeAt(i)) return -1;
  return pos + literal.length;
}

// Scans a scalar value (string, number, literal) at `pos`; -1 when there is none.
function scanScalar(buf: Uint8Array, pos: number, end: number, c: number): number {
  if (c === QUOTE) return scanString(buf, pos, end);
  if (c === 0x74) return scanLiteral(buf, pos, end, 'true');
  if (c === 0x66) return scanLiteral(buf, pos, end, 'false');
  if (c === 0x6e) return scanLiteral(buf, pos, end, 'null');
  return scanNumber(buf, pos, end);
}

// After '{' or ',' inside an object: a member name and a colon; returns the index after ':'.
function scanMemberName(buf: Uint8Array, pos: number, end: number): number {
  pos = skipWhitespace(buf, pos, end);
  if (pos >= end || buf[pos] !== QUOTE) return -1;
  pos = scanString(buf, pos, end);
  if (pos < 0) return -1;
  pos = skipWhitespace(buf, pos, end);
  return pos < end && buf[pos] === 0x3a ? pos + 1 : -1;
}

/**
 * Validates one JSON value starting at or after `pos` (leading whitespace skipped); returns the
 * index after the value (trailing whitespace not consumed), or -1 when it is malformed.
 */
export function scanValue(buf: Uint8Array, pos: number, end: number): number {
  // 1 = inside an object, 2 = inside an array.
  const stack: number[] = [];
  for (;;) {
    pos = skipWhitespace(buf, pos, end);
    if (pos >= end) return -1;
    const c = buf[pos] as number;
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxJsonDepth) return -1;
      const close = c === 0x7b ? 0x7d : 0x5d;
      const after = skipWhitespace(buf, pos + 1, end);
      if (after < end && buf[after] === close) {
        pos = after + 1;
      } else {
        stack.push(c === 0x7b ? 1 : 2);
        pos = c === 0x7b ? scanMemberName(buf, pos + 1, end) : pos + 1;
        if (pos < 0) return -1;
        continue;
      }
    } else {
      pos = scanScalar(buf, pos, end, c);
      if (pos < 0) return -1;
    }
    // A value ended: close containers or move to the next member / element.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return pos;
      pos = skipWhitespace(buf, pos, end);
      if (pos >= end) return -1;
      const d = buf[pos] as number;
      if (d === 0x2c) {
        pos = top === 1 ? scanMemberName(buf, pos + 1, end) : pos + 1;
        if (pos < 0) return -1;
        break;
      }
      if ((top === 1 && d === 0x7d) || (top === 2 && d === 0x5d)) {
        stack.pop();
        pos++;
        continue;
      }
      return -1;
    }
  }
}

/**
 * Whether `bytes` hold exactly one JSON value (surrounding whitespace allowed): 'invalid',
 * 'valid', or 'multiline' when valid but with line breaks between tokens (a string cannot hold a
 * raw line break, so these are the only line breaks in the bytes).
 */
export function jsonShape(bytes: Uint8Array): 'invalid' | 'valid' | 'multiline' {
  const end = bytes.length;
  sawLineBreak = false;
  const stop = scanValue(bytes, 0, end);
  if (stop < 0 || skipWhitespace(bytes, stop, end) !== end) return 'invalid';
  return sawLineBreak ? 'multiline' : 'valid';
}

/** True when `bytes` hold exactly one JSON value (surrounding whitespace allowed). */
export function isValidJson(bytes: Uint8Array): boolean {
  return jsonShape(bytes) !== 'invalid';
}

/**
 * Copy of valid JSON `bytes` without whitespace outside strings. Needed before splicing a value
 * into newline-delimited output, where a line break between tokens would split the message.
 */
export function compactJson(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      out[n++] = c;
      if (c === BACKSLASH) out[n++] = bytes[++i] as number;
      else if (c === QUOTE) inString = false;
    } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      out[n++] = c;
      if (c === QUOTE) inString = true;
    }
  }
  return out.slice(0, n);
}
