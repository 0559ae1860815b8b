/** A parsed JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function isObject(value: unknown): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Own properties set with defineProperty: a "__proto__" member from JSON.parse is data, never a
// prototype change.
function setMember(target: Record<string, JsonValue>, name: string, value: JsonValue): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Applies a JSON Merge Patch (RFC 7396 §2, the `MergePatch(Target, Patch)` pseudocode) and
 * returns the result; neither argument is modified. A patch that is not an object replaces the
 * target; `null` members remove; objects merge recursively; arrays replace whole.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const result: Record<string, JsonValue> = {};
  if (isObject(target)) for (const name of Object.keys(target)) setMember(result, name, target[name]!);
  for (const name of Object.keys(patch)) {
    const value = patch[name]!;
    if (value === null) delete result[name];
    else setMember(result, name, applyMergePatch(Object.hasOwn(result, name) ? result[name] : undefined, value));
  }
  return result;
}

const inexpressible = Symbol('inexpressible');

/**
 * A merge patch that turns `from` into `to` (`applyMergePatch(from, patch)` equals `to`), or
 * undefined when none exists: RFC 7396 §1 gives `null` the meaning "remove", so a document that
 * gains a `null` member inside an object cannot be reached by a merge patch; send `to` whole.
 * Equal documents give `{}`.
 */
export function createMergePatch(from: JsonValue | undefined, to: JsonValue): { patch: JsonValue } | undefined {
  const patch = diff(from, to);
  if (patch === inexpressible) return undefined;
  return { patch: patch ?? {} };
}

function diff(from: JsonValue | undefined, to: JsonValue): JsonValue | undefined | typeof inexpressible {
  if (jsonEqual(from, to)) return undefined;
  if (!isObject(to)) return to;
  if (!isObject(from)) return nullInObject(to) ? inexpressible : to;
  const patch: Record<string, JsonValue> = {};
  for (const name of Object.keys(from)) if (!Object.hasOwn(to, name)) setMember(patch, name, null);
  for (const name of Object.keys(to)) {
    const value = to[name]!;
    const before = Object.hasOwn(from, name) ? from[name] : undefined;
    if (jsonEqual(before, value)) continue;
    if (value === null) return inexpressible;
    const sub = diff(before, value);
    if (sub === inexpressible) return inexpressible;
    if (sub !== undefined) setMember(patch, name, sub);
  }
  return patch;
}

/** True when an object member somewhere in `value` (outside arrays) is null. */
function nullInObject(value: JsonValue): boolean {
  if (!isObject(value)) return false;
  return Object.values(value).some((v) => v === null || nullInObject(v));
}

/** Structural equality of JSON values (member order ignored). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}
