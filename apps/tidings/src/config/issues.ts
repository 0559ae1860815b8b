import type { z } from 'zod';
import { childNames, describeExpected, isSecretPath, schemaAt } from './fields.js';

/** One validation problem: the option path as written by the user and the reason. */
export interface ConfigProblem {
  /** `http.port`, `auth.keys[0].alg`, `channels.namespaces.chat.historySize`. */
  readonly path: string;
  readonly reason: string;
  /** The concrete path, when the problem comes from schema validation. */
  readonly segments?: readonly PropertyKey[];
}

/** Formats a concrete path: `['auth', 'keys', 0, 'alg']` → `auth.keys[0].alg`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

function show(value: unknown, secret: boolean): string {
  if (secret && typeof value === 'string') return `a ${value.length}-character string (not shown)`;
  if (secret && value !== undefined) return `${Array.isArray(value) ? 'a list' : `a ${typeof value}`} (not shown)`;
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** ` (did you mean "port"?)` when a known name is close to `name`, else "". */
export function suggestion(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Turns zod issues into problems that name the option and say what it expects. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const node = schemaAt(issue.path);
    const secret = isSecretPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const segments = [...issue.path, key];
          out.push({
            path: formatPath(segments),
            reason: `unknown option${suggestion(key, childNames(node))}`,
            segments,
          });
        }
        break;
      case 'custom':
        out.push({ path: formatPath(issue.path), reason: issue.message, segments: issue.path });
        break;
      case 'invalid_key':
        out.push({
          path: formatPath(issue.path),
          reason: `invalid name: ${issue.issues.map((i) => i.message).join('; ')}`,
          segments: issue.path,
        });
        break;
      case 'invalid_union': {
        // A discriminated union (engine.type): name every valid choice, not the first branch.
        const choices = 'options' in issue && Array.isArray(issue.options) ? issue.options : undefined;
        if (choices === undefined || choices.length === 0) {
          out.push({ path: formatPath(issue.path), reason: issue.message, segments: issue.path });
          break;
        }
        const key = 'discriminator' in issue && typeof issue.discriminator === 'string' ? issue.discriminator : '';
        const got = isRecord(issue.input) && key in issue.input ? issue.input[key] : issue.input;
        const listed = choices.map((c) => JSON.stringify(c)).join(', ');
        out.push({
          path: formatPath(issue.path),
          reason: `expected one of ${listed}, got ${show(got, secret)}`,
          segments: issue.path,
        });
        break;
      }
      case 'invalid_format':
        out.push({
          path: formatPath(issue.path),
          reason: `${issue.message}, got ${show(issue.input, secret)}`,
          segments: issue.path,
        });
        break;
      default: {
        const expected = node === undefined ? issue.message : `expected ${describeExpected(node)}`;
        const reason =
          issue.code === 'invalid_type' && issue.input === undefined
            ? `is required (${expected})`
            : `${expected}, got ${show(issue.input, secret)}`;
        out.push({ path: formatPath(issue.path), reason, segments: issue.path });
      }
    }
  }
  return out;
}
