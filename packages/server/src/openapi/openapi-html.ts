import type { OpenApiDocument, OpenApiOperation } from './openapi-types.js';

const escapes: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/** One line of text: `code spans` as <code>, everything else escaped. */
function inline(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** Paragraphs (blank-line separated) of `inline` text. */
function prose(text: string): string {
  return text
    .split('\n\n')
    .map((p) => `<p>${inline(p)}</p>`)
    .join('');
}

function json(value: unknown): string {
  return `<pre>${esc(JSON.stringify(value, null, 2))}</pre>`;
}

interface Media {
  readonly schema?: unknown;
  readonly 'x-item-schema'?: unknown;
  readonly examples?: Readonly<Record<string, { readonly value: unknown }>>;
}

function media(content: Readonly<Record<string, Media>> | undefined): string {
  if (content === undefined) return '';
  let out = '';
  for (const [type, m] of Object.entries(content)) {
    out += `<div class="media"><span class="type">${esc(type)}</span>`;
    const item = m['x-item-schema'];
    out += item === undefined ? details('schema', m.schema) : details('schema of each event / line', item);
    const example = m.examples?.example?.value;
    if (example !== undefined) out += details('example', example, true);
    out += '</div>';
  }
  return out;
}

function details(label: string, value: unknown, open = false): string {
  if (value === undefined) return '';
  const body = typeof value === 'string' ? `<pre>${esc(value)}</pre>` : json(value);
  return `<details${open ? ' open' : ''}><summary>${esc(label)}</summary>${body}</details>`;
}

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly description?: string;
  readonly schema?: unknown;
}

function operation(method: string, path: string, op: OpenApiOperation): string {
  const id = esc(op.operationId);
  let out = `<section id="${id}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>`;
  out += `<p class="summary">${esc(op.summary)}</p>${prose(op.description ?? '')}`;
  const params = (op.parameters ?? []) as readonly Parameter[];
  if (params.length > 0) {
    out += '<table><tr><th>parameter</th><th>in</th><th>schema</th><th></th></tr>';
    for (const p of params) {
      out += `<tr><td><code>${esc(p.name)}</code>${p.required === true ? ' *' : ''}</td><td>${esc(p.in)}</td>`;
      out += `<td><code>${esc(JSON.stringify(p.schema ?? {}))}</code></td><td>${inline(p.description ?? '')}</td></tr>`;
    }
    out += '</table>';
  }
  const body = op.requestBody as { readonly content?: Readonly<Record<string, Media>> } | undefined;
  if (body?.content !== undefined) out += `<h4>Request body</h4>${media(body.content)}`;
  out += '<h4>Responses</h4>';
  for (const [status, r] of Object.entries(op.responses)) {
    const response = r as { readonly description?: string; readonly content?: Readonly<Record<string, Media>> };
    out += `<div class="response"><b>${esc(status)}</b> ${inline(response.description ?? '')}${media(response.content)}</div>`;
  }
  return `${out}</section>`;
}

/**
 * A self-contained HTML reference of the document, for `/api/docs`: no script, no external
 * resource (works offline and under `default-src 'none'`), grouped by tag, every schema and
 * example shown as JSON. The raw document is linked at `documentUrl`.
 */
export function renderOpenApiHtml(doc: OpenApiDocument, documentUrl = '/api/openapi.json'): string {
  const byTag = new Map<string, string[]>();
  const toc = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item) as [string, OpenApiOperation][]) {
      const tag = op.tags[0] ?? 'Other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), operation(method, path, op)]);
      const link = `<a href="#${esc(op.operationId)}">${esc(method.toUpperCase())} ${esc(path)}</a>`;
      toc.set(tag, [...(toc.get(tag) ?? []), link]);
    }
  }
  let main = '';
  let nav = '';
  for (const tag of doc.tags) {
    const sections = byTag.get(tag.name);
    if (sections === undefined) continue;
    main += `<h2 id="tag-${esc(tag.name.replace(/\W+/g, '-'))}">${esc(tag.name)}</h2>${prose(tag.description)}${sections.join('')}`;
    nav += `<h4>${esc(tag.name)}</h4>${(toc.get(tag.name) ?? []).join('')}`;
  }
  const security = Object.entries(doc.components.securitySchemes)
    .map(
      ([name, s]) => `<li><code>${esc(name)}</code>: ${inline((s as { description?: string }).description ?? '')}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:19rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f5f5f7;padding:1rem;box-sizing:border-box}
nav a{display:block;font:12px ui-monospace,monospace;color:#224;text-decoration:none;padding:1px 0}
main{padding:1rem 2rem;max-width:60rem;min-width:0}
section{border-top:1px solid #ddd;padding:.5rem 0 1rem}
pre{background:#f7f7f9;padding:.5rem;overflow:auto;font-size:12px;max-height:30rem}
code{font-family:ui-monospace,monospace;font-size:90%}
.m{display:inline-block;min-width:3.5rem;text-align:center;border-radius:3px;color:#fff;font-size:12px;padding:1px 4px}
.get{background:#2a7}.post{background:#27c}.head{background:#888}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
.media{margin:.25rem 0 .25rem 1rem}.type{font:12px ui-monospace,monospace;color:#555}.summary{font-weight:600}
</style></head>
<body><nav><b>${esc(doc.info.title)}</b><br><small>HTTP API ${esc(doc.info.version)} · OpenAPI ${esc(doc.openapi)} · <a style="display:inline" href="${esc(documentUrl)}">openapi.json</a></small>${nav}</nav>
<main><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>${prose(doc.info.description)}
<h4>Authentication</h4><ul>${security}</ul>${main}</main></body></html>
`;
}
