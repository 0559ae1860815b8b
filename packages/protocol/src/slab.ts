// Small output buffers carved from shared slabs, for the encoders on the hot paths (JSON messages
// and their joined batches, WebSocket frames, engine publication bodies).
//
// Why: every `new Uint8Array(n)` above V8's on-heap limit (64 bytes) is an off-heap allocation
// with its own free and sweep. Measured on the bench machine (Node 20, medians of 11 × 100,000
// in one process): `new Uint8Array(171)` 2,257 ns, `TextEncoder.encode` of 60 characters 1,210 ns,
// a view into a slab 63 ns. A JSON push of 171 bytes encoded in 9,976 ns before and 2,915 ns
// after; `bench/publish-api.mjs` and `bench/compare.sh` measure what it gives end to end. Written
// here because this package runs in browsers and React Native too, so Node's pooled
// `Buffer.allocUnsafe`, which does the same, is not available to it.
//
// The cost of pooling is retention: a slab is freed only when no view into it is left, so one
// long-lived small view keeps its 16 KiB slab alive. Use it for output that is written and
// dropped (frames, replies, bodies sent to an engine), not for data kept for long.

const slabBytes = 16 * 1024;
/** Outputs larger than this get a buffer of their own (they would waste most of a slab). */
const largestPooled = slabBytes / 4;
let slab = new Uint8Array(0);
let at = 0;

function ensure(bytes: number): void {
  if (at + bytes > slab.length) {
    slab = new Uint8Array(slabBytes);
    at = 0;
  }
}

/**
 * `bytes` zeroed bytes of their own: a view into a shared slab when small, else a new buffer.
 * No byte is handed out twice. Use the view's `byteOffset` and `byteLength`, never the whole
 * `.buffer` (and do not transfer or structured-clone it: that would carry the slab along).
 */
export function allocateBytes(bytes: number): Uint8Array {
  if (bytes > largestPooled) return new Uint8Array(bytes);
  ensure(bytes);
  const view = slab.subarray(at, at + bytes);
  // 8-byte steps keep every view aligned as a fresh allocation would be.
  at += (bytes + 7) & ~7;
  return view;
}

/**
 * For output whose exact size is known only once written (UTF-8 text): a view of `bytes` free
 * zeroed bytes to write into, or undefined when `bytes` is too large to pool (allocate instead).
 * The caller must call `commitBytes(used)` before anything else allocates from the slab (that
 * is, synchronously, with no other allocation in between), then keep only the first `used`
 * bytes of the view.
 */
export function reserveBytes(bytes: number): Uint8Array | undefined {
  if (bytes > largestPooled) return undefined;
  ensure(bytes);
  return slab.subarray(at, at + bytes);
}

/** Ends a `reserveBytes`: its first `used` bytes are taken, the rest stays free. */
export function commitBytes(used: number): void {
  at += (used + 7) & ~7;
}
