/** Matches exactly one level. */
export const singleLevelWildcard = '+';
/** Matches the parent level and every level below it; only as the last level. */
export const multiLevelWildcard = '#';

/**
 * The levels of a channel as wildcard patterns see them: the namespace, then the rest of the
 * name split at `/` (`sensors:dock-3/temp` → `sensors`, `dock-3`, `temp`). A channel of the
 * default namespace is one level (`news` → `news`); one that contains `/` has no levels
 * (undefined) and is matched by no pattern, because `a/b` would read as namespace `a`.
 */
export function channelLevels(channel: string): string[] | undefined {
  const colon = channel.indexOf(':');
  if (colon < 0) return channel.includes('/') ? undefined : [channel];
  return [channel.slice(0, colon), ...channel.slice(colon + 1).split('/')];
}

/** Why a pattern is refused. */
export type PatternRefusal = 'empty' | 'misplaced-wildcard';

/**
 * Checks a pattern's levels: at least one level, `+` and `#` only as whole levels, `#` only last.
 * Returns undefined when valid.
 */
export function patternRefusal(levels: readonly string[]): PatternRefusal | undefined {
  if (levels.length === 0) return 'empty';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === multiLevelWildcard) {
      if (i !== levels.length - 1) return 'misplaced-wildcard';
    } else if (level !== singleLevelWildcard && (level.includes('+') || level.includes('#'))) {
      return 'misplaced-wildcard';
    }
  }
  return undefined;
}

/**
 * The literal channel-name prefix every channel matched by `levels` starts with: what an engine
 * must deliver to this node for the pattern (it may deliver more; the index filters exactly).
 * `sensors/+/temp` → `sensors:`, `sensors/dock-3/#` → `sensors:dock-3` (`#` matches the parent),
 * `+/x` or `#` → `` (every channel).
 */
export function patternPrefix(levels: readonly string[]): string {
  let prefix = '';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    const separator = i === 0 ? '' : i === 1 ? ':' : '/';
    if (level === multiLevelWildcard) return prefix;
    if (level === singleLevelWildcard) return prefix + separator;
    prefix += separator + level;
  }
  return prefix;
}

interface TrieNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  /** Values of patterns ending at this node. */
  readonly values: Set<T>;
  /** Values of patterns ending with `#` below this node (they match this node's level too). */
  readonly rest: Set<T>;
}

function trieNode<T>(): TrieNode<T> {
  return { children: new Map(), values: new Set(), rest: new Set() };
}

/**
 * A trie of wildcard patterns keyed by level, with MQTT's matching rules (MQTT 5 §4.7): `+`
 * matches exactly one level (an empty one too), `#` matches the parent and any number of levels
 * below, and a pattern starting with a wildcard does not match a first level starting with `$`.
 *
 * Contract: `match` walks the trie once per name — its cost grows with the name's levels and
 * the patterns that share its literal levels, not with the number of patterns or channels — and
 * visits each value at most once per call. `add` of a pair already present and `remove` of one
 * absent are no-ops. Patterns are not validated here (see `patternRefusal`).
 */
export class PatternIndex<T> {
  readonly #root: TrieNode<T> = trieNode();
  #size = 0;

  /** Number of (pattern, value) pairs. */
  get size(): number {
    return this.#size;
  }

  add(levels: readonly string[], value: T): void {
    let node = this.#root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string;
      if (level === multiLevelWildcard && i === levels.length - 1) {
        if (!node.rest.has(value)) {
          node.rest.add(value);
          this.#size++;
        }
        return;
      }
      let child = node.children.get(level);
      if (child === undefined) {
        child = trieNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (!node.values.has(value)) {
      node.values.add(value);
      this.#size++;
    }
  }

  /** Returns true when the pair was present. */
  remove(levels: readonly string[], value: T): boolean {
    const path: Array<[TrieNode<T>, string]> = [];
    let node = this.#root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i] as string;
      if (level === multiLevelWildcard && i === levels.length - 1) {
        if (!node.rest.delete(value)) return false;
        this.#size--;
        this.#prune(path, node);
        return true;
      }
      const child = node.children.get(level);
      if (child === undefined) return false;
      path.push([node, level]);
      node = child;
    }
    if (!node.values.delete(value)) return false;
    this.#size--;
    this.#prune(path, node);
    return true;
  }

  /** Calls `visit` once for each value whose pattern matches `levels`. */
  match(levels: readonly string[], visit: (value: T) => void): void {
    if (this.#size === 0 || levels.length === 0) return;
    const seen = new Set<T>();
    const emit = (values: Set<T>) => {
      for (const value of values) {
        if (seen.has(value)) continue;
        seen.add(value);
        visit(value);
      }
    };
    // §4.7.2: wildcards at the first level do not match names starting with `$`.
    const dollar = (levels[0] as string).startsWith('$');
    const walk = (node: TrieNode<T>, depth: number) => {
      const wildOk = depth > 0 || !dollar;
      if (wildOk) emit(node.rest);
      if (depth === levels.length) {
        emit(node.values);
        return;
      }
      const exact = node.children.get(levels[depth] as string);
      if (exact !== undefined) walk(exact, depth + 1);
      if (wildOk) {
        const plus = node.children.get(singleLevelWildcard);
        if (plus !== undefined) walk(plus, depth + 1);
      }
    };
    walk(this.#root, 0);
  }

  /** Every distinct value, as a snapshot. */
  values(): Set<T> {
    const out = new Set<T>();
    const walk = (node: TrieNode<T>) => {
      for (const v of node.values) out.add(v);
      for (const v of node.rest) out.add(v);
      for (const child of node.children.values()) walk(child);
    };
    walk(this.#root);
    return out;
  }

  #prune(path: Array<[TrieNode<T>, string]>, leaf: TrieNode<T>): void {
    let node = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (node.values.size > 0 || node.rest.size > 0 || node.children.size > 0) return;
      const [parent, level] = path[i] as [TrieNode<T>, string];
      parent.children.delete(level);
      node = parent;
    }
  }
}
