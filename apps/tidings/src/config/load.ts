import { readFileSync } from 'node:fs';
import { TidingsError, TidingsErrorCode } from '@tidings/protocol';
import { type ConfigOverride, convertText, overridableField, overridesFromEnv } from './env.js';
import { type ConfigProblem, problemsFromIssues } from './issues.js';
import { type ConfigInput, configSchema, type TidingsConfig } from './schema.js';

/** Inputs of `loadConfig`, lowest precedence first: defaults < base < file < env < flags. */
export interface LoadConfigOptions {
  /** Path of a JSON config file, or `-` for stdin. Unknown keys in it are errors. */
  readonly file?: string;
  /** Environment; `TIDINGS_<PATH>` variables override the file (see docs/configuration.md). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** CLI flags, highest precedence. */
  readonly flags?: readonly ConfigOverride[];
  /** A layer between the defaults and the file (the development profile uses it). */
  readonly base?: ConfigInput;
}

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; any other value (arrays included) replaces what was there. */
function merge(target: Json, source: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(source)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

function setPath(target: Json, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: Json = {};
      node[segment] = created;
      node = created;
    }
  }
  node[segments[segments.length - 1] as string] = value;
}

function has(target: unknown, path: readonly PropertyKey[]): boolean {
  let node = target;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !(String(segment) in node)) return false;
    node = (node as Json)[String(segment)];
  }
  return true;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function configError(problems: readonly ConfigProblem[]): TidingsError {
  const lines = problems.map((p) => `  - ${p.path}: ${p.reason}`);
  return new TidingsError(TidingsErrorCode.Config, `invalid configuration:\n${lines.join('\n')}`);
}

/** Why a config file could not be read, in words that say what to do. */
function readFailureReason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'file not found';
    case 'EISDIR':
      return 'it is a directory; --config takes a JSON file (tidings genconfig > tidings.json writes one)';
    case 'EACCES':
      return 'permission denied; make the file readable by this user';
    default:
      return error.code === undefined ? String(error) : `${error.code}: ${error.message}`;
  }
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    // `-` reads stdin, so `tidings genconfig | tidings serve --config -` works.
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const reason = readFailureReason(error as NodeJS.ErrnoException);
    throw new TidingsError(TidingsErrorCode.Config, `cannot read config file ${file}: ${reason}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TidingsError(
      TidingsErrorCode.Config,
      `config file ${file} is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new TidingsError(TidingsErrorCode.Config, `config file ${file} must hold a JSON object`);
  }
  return parsed;
}

/**
 * Builds the server configuration from defaults, an optional base layer, a JSON file, `TIDINGS_*`
 * env variables and CLI flags (later wins; objects merge, other values replace).
 *
 * @returns a deeply frozen, validated config with every default filled in.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` listing every bad option path, its reason and where
 *   the value came from; secrets are never echoed.
 */
export function loadConfig(options: LoadConfigOptions = {}): TidingsConfig {
  let layered: Json = isPlainObject(options.base) ? merge({}, options.base) : {};
  const fileObject = options.file === undefined ? undefined : readConfigFile(options.file);
  if (fileObject !== undefined) layered = merge(layered, fileObject);

  const sources = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const override of [...overridesFromEnv(options.env ?? {}), ...(options.flags ?? [])]) {
    const field = overridableField(override.path);
    if (field === undefined) {
      throw new TidingsError(TidingsErrorCode.Config, `${override.source}: ${override.path} is not an option`);
    }
    const converted = convertText(field, override.value);
    if ('error' in converted) {
      problems.push({ path: override.path, reason: `${converted.error} (from ${override.source})` });
      continue;
    }
    setPath(layered, override.path.split('.'), converted.value);
    sources.set(override.path, override.source);
  }

  const result = configSchema.safeParse(layered, { reportInput: true });
  if (result.success && problems.length === 0) return deepFreeze(result.data);

  const issues = result.success ? [] : result.error.issues;
  const located = problemsFromIssues(issues).map((problem) => ({
    ...problem,
    reason: `${problem.reason}${sourceOf(problem.segments ?? [], sources, fileObject, options.file)}`,
  }));
  throw configError([...problems, ...located]);
}

function sourceOf(
  path: readonly PropertyKey[],
  sources: ReadonlyMap<string, string>,
  fileObject: Json | undefined,
  file: string | undefined,
): string {
  for (let i = path.length; i > 0; i--) {
    const source = sources.get(path.slice(0, i).map(String).join('.'));
    if (source !== undefined) return ` (from ${source})`;
  }
  if (fileObject !== undefined && has(fileObject, path)) return ` (in ${file})`;
  return '';
}
