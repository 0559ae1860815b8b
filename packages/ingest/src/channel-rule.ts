import { TidingsError, TidingsErrorCode } from '@tidings/protocol';

/**
 * A channel template: literal text with `{name}` placeholders. `{subject}` is a source variable;
 * `{subject.2}` its third dot-separated token; `{data.a.b}` the JSON field `a.b` of the message
 * payload (strings and numbers only). A placeholder that resolves to nothing makes the message
 * unmapped.
 */
export interface ChannelRule {
  /** The channel for this message, or a reason it has none. */
  resolve(vars: Readonly<Record<string, string | undefined>>, data: Uint8Array): ChannelResolution;
}

export type ChannelResolution =
  | { readonly ok: true; readonly channel: string }
  | { readonly ok: false; readonly reason: string };

type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'var'; readonly name: string; readonly token: number | undefined }
  | { readonly kind: 'data'; readonly path: readonly string[] };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `template` once.
 * @throws TidingsError `TIDINGS_ERR_CONFIG` (naming `path`) for an empty template, an unclosed
 *   brace or an empty placeholder.
 */
export function compileChannelRule(template: string, path: string): ChannelRule {
  const parts = parse(template, path);
  const needsData = parts.some((p) => p.kind === 'data');
  return {
    resolve(vars, data) {
      let json: unknown;
      if (needsData) {
        try {
          json = JSON.parse(decoder.decode(data));
        } catch {
          return { ok: false, reason: 'payload is not JSON, but the channel template reads {data.…}' };
        }
      }
      let channel = '';
      for (const part of parts) {
        if (part.kind === 'text') {
          channel += part.text;
          continue;
        }
        const value = part.kind === 'var' ? varValue(vars, part.name, part.token) : dataValue(json, part.path);
        if (value === undefined || value === '') {
          const label =
            part.kind === 'var'
              ? part.name + (part.token === undefined ? '' : `.${part.token}`)
              : `data.${part.path.join('.')}`;
          return { ok: false, reason: `{${label}} is empty or missing` };
        }
        channel += value;
      }
      return { ok: true, channel };
    },
  };
}

function varValue(
  vars: Readonly<Record<string, string | undefined>>,
  name: string,
  token: number | undefined,
): string | undefined {
  const value = vars[name];
  if (value === undefined || token === undefined) return value;
  return value.split('.')[token];
}

function dataValue(json: unknown, path: readonly string[]): string | undefined {
  let at: unknown = json;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  if (typeof at === 'string') return at;
  if (typeof at === 'number' && Number.isFinite(at)) return String(at);
  return undefined;
}

function parse(template: string, path: string): Part[] {
  const fail = (why: string) => new TidingsError(TidingsErrorCode.Config, `${path}: ${why} in "${template}"`);
  if (template === '') throw fail('empty channel template');
  const parts: Part[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      parts.push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (template.indexOf('}', i) >= 0 && template.indexOf('}', i) < open) throw fail('"}" without "{"');
    if (open > i) parts.push({ kind: 'text', text: template.slice(i, open) });
    const close = template.indexOf('}', open);
    if (close < 0) throw fail('unclosed "{"');
    const name = template.slice(open + 1, close).trim();
    if (name === '' || name.includes('{')) throw fail('empty placeholder');
    const segments = name.split('.');
    if (segments[0] === 'data') {
      if (segments.length < 2 || segments.some((s) => s === '')) throw fail(`bad placeholder {${name}}`);
      parts.push({ kind: 'data', path: segments.slice(1) });
    } else if (segments.length === 2 && /^\d+$/.test(segments[1] ?? '')) {
      parts.push({ kind: 'var', name: segments[0] ?? '', token: Number(segments[1]) });
    } else {
      // `field.NAME` and `header.NAME` are flat variable names that contain a dot.
      parts.push({ kind: 'var', name, token: undefined });
    }
    i = close + 1;
  }
  if (template.slice(i).includes('}')) throw fail('"}" without "{"');
  return parts;
}
