import { type ConfigField, configFields, configJsonSchema, describeType } from './fields.js';
import { configSchema } from './schema.js';

/** The command that regenerates docs/configuration.md. */
export const docsCommand = 'npm run docs:config -w tidings';

const header = `# Configuration

<!-- Generated from apps/tidings/src/config/schema.ts by \`${docsCommand}\`. Do not edit by hand. -->

\`tidings serve\` builds its configuration from these layers, lowest precedence first:

1. the defaults below;
2. a JSON config file: \`--config FILE\` (\`-\` reads stdin; or set \`TIDINGS_CONFIG=FILE\`).
   Unknown keys are errors, so typos fail at start;
3. environment variables \`TIDINGS_<PATH>\`, named after the option path in SCREAMING_SNAKE_CASE
   (\`client.pingIntervalMs\` → \`TIDINGS_CLIENT_PING_INTERVAL_MS\`). Numbers and booleans are
   written as text, lists comma-separated (\`TIDINGS_API_KEYS=key1,key2\`), maps and lists of
   objects as JSON (\`TIDINGS_CHANNELS_NAMESPACES='{"chat":{"allowSubscribeForClient":true}}'\`);
4. command-line flags: \`--host\` (\`http.host\`), \`--port\` (\`http.port\`), \`--log-level\` (\`log.level\`).

Objects merge key by key; any other value (lists included) replaces the one below it. An invalid
value stops the server at start with the option path, the reason and where the value came from.
\`tidings genconfig\` prints a complete config with fresh secrets.

**Development profile.** Without a config file, \`tidings serve\` binds 127.0.0.1 only, generates
an API key and an HS256 secret for this run (printed once in the start-up banner, with a curl
publish command and a token for the dashboard), accepts anonymous connections, and serves a
\`demo\` namespace with history (100 publications, 10 minutes), recovery, presence and join/leave,
where anyone may subscribe and subscribers may publish. With a config file everything is denied
unless configured. Env-only deployments pass a config file holding \`{}\`.

Durations end in \`Ms\` (milliseconds), sizes in \`Bytes\`.
`;

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A Markdown table with padded columns, as Biome's formatter writes it (CI runs `biome check`). */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function human(path: string, value: number): string {
  if (path.endsWith('Bytes') && value >= 1024) {
    const mib = value / (1024 * 1024);
    return Number.isInteger(mib) ? ` (${mib} MiB)` : ` (${value / 1024} KiB)`;
  }
  if (path.endsWith('Ms') && value >= 1000) {
    const units: Array<[number, string]> = [
      [86_400_000, 'd'],
      [3_600_000, 'h'],
      [60_000, 'min'],
      [1000, 's'],
    ];
    for (const [size, unit] of units) if (value % size === 0) return ` (${value / size} ${unit})`;
  }
  return '';
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const segment of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function defaultOf(field: ConfigField, defaults: unknown): string {
  // Fields inside lists and maps have no resolved default; their schema node carries it.
  const inside = field.path.includes('[]') || field.path.includes('<name>');
  const value = inside ? field.node.default : valueAt(defaults, field.path);
  if (value === undefined) return field.required ? 'required' : 'unset';
  const text = `\`${JSON.stringify(value)}\``;
  return typeof value === 'number' ? `${text}${human(field.path, value)}` : text;
}

function envOf(field: ConfigField): string {
  if (field.env === undefined) return '—';
  const note = field.envKind === 'json' ? ' (JSON)' : field.envKind === 'list' ? ' (comma-separated)' : '';
  return `\`${field.env}\`${note}`;
}

/**
 * Renders docs/configuration.md from the config schema: every option with its path, env name,
 * type, default and description. Deterministic: the checked-in file must equal this output.
 */
export function renderConfigDocs(): string {
  const defaults = configSchema.parse({});
  const sections = new Map<string, ConfigField[]>();
  for (const field of configFields()) {
    const top = field.path.split(/[.[]/)[0] as string;
    sections.set(top, [...(sections.get(top) ?? []), field]);
  }
  const parts = [header];
  for (const [name, fields] of sections) {
    const description = configJsonSchema.properties?.[name]?.description;
    const isLeaf = fields.length === 1 && fields[0]?.path === name;
    parts.push(`## \`${name}\`\n`);
    if (description !== undefined && !isLeaf) parts.push(`${description}\n`);
    const rows = fields.map((field) => [
      `\`${field.path}\``,
      envOf(field),
      cell(describeType(field.node)),
      cell(defaultOf(field, defaults)),
      cell(field.description + (field.secret ? ' Secret: never logged.' : '')),
    ]);
    parts.push(...table(['Option', 'Env', 'Type', 'Default', 'Description'], rows));
    parts.push('');
  }
  return parts.join('\n');
}
