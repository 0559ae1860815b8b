import { type ConfigField, configFields, type EnvKind } from './fields.js';

/** A value from outside the config file (env or a CLI flag) for one option path. */
export interface ConfigOverride {
  /** Dotted option path, e.g. `http.port`. */
  readonly path: string;
  /** The raw text, converted by the option's type (see `convertText`). */
  readonly value: string;
  /** Where it came from, for error messages: `TIDINGS_HTTP_PORT`, `--port`. */
  readonly source: string;
}

/** A problem found before schema validation (e.g. malformed JSON in an env variable). */
export interface OverrideProblem {
  readonly path: string;
  readonly message: string;
  readonly source: string;
}

/** Environment variables read by the CLI itself rather than mapped onto an option. */
export const cliEnvNames: ReadonlySet<string> = new Set(['TIDINGS_CONFIG']);

function envFields(): ConfigField[] {
  return configFields().filter((f) => f.env !== undefined);
}

/**
 * The config overrides present in `env`: one per `TIDINGS_<PATH>` variable of a known option.
 * Empty values count as unset, except for lists (where "" means an empty list).
 */
export function overridesFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  for (const field of envFields()) {
    const name = field.env as string;
    const value = env[name];
    if (value === undefined || (value === '' && field.envKind !== 'list')) continue;
    out.push({ path: field.path, value, source: name });
  }
  return out;
}

/** `TIDINGS_*` variables that match no option: most likely typos, worth a warning. */
export function unknownEnvNames(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set(envFields().map((f) => f.env));
  return Object.keys(env)
    .filter((name) => name.startsWith('TIDINGS_') && !known.has(name) && !cliEnvNames.has(name))
    .sort();
}

/** The option at a dotted path that env variables and flags can set, or undefined. */
export function overridableField(path: string): ConfigField | undefined {
  return envFields().find((f) => f.path === path);
}

function acceptsType(field: ConfigField, type: string): boolean {
  const { node } = field;
  const types = [node, ...(node.anyOf ?? []), ...(node.oneOf ?? [])].map((n) => n.type);
  return types.includes(type);
}

/**
 * Converts override text to the option's value type. Text that does not look like the wanted
 * type is passed through unchanged, so the schema reports it with the option's expectations
 * (`expected an integer between 0 and 65535, got "abc"`).
 */
export function convertText(field: ConfigField, text: string): { value: unknown } | { error: string } {
  const kind: EnvKind = field.envKind;
  if (kind === 'list') {
    return {
      value: text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    };
  }
  if (kind === 'json') {
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      return { error: 'expected a JSON value, got text that does not parse as JSON' };
    }
  }
  const trimmed = text.trim();
  if ((acceptsType(field, 'integer') || acceptsType(field, 'number')) && /^-?\d+(\.\d+)?$/.test(trimmed)) {
    return { value: Number(trimmed) };
  }
  if (acceptsType(field, 'boolean')) {
    const lower = trimmed.toLowerCase();
    if (lower === 'true' || lower === '1') return { value: true };
    if (lower === 'false' || lower === '0') return { value: false };
  }
  return { value: text };
}
