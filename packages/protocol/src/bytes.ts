/** `units` back to back in one array; a single unit is returned as is (no copy). */
export function concatBytes(units: readonly Uint8Array[]): Uint8Array {
  if (units.length === 1) return units[0] as Uint8Array;
  let size = 0;
  for (const unit of units) size += unit.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const unit of units) {
    out.set(unit, pos);
    pos += unit.length;
  }
  return out;
}
