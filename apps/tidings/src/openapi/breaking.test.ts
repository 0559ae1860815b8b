import { readFileSync } from 'node:fs';
import type { OpenApiDocument } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { breakingChanges } from './breaking.js';
import { renderCheckedInDocument } from './checked-in.js';

const baseline = JSON.parse(readFileSync(new URL('./baseline.json', import.meta.url), 'utf8')) as OpenApiDocument;
const current = JSON.parse(renderCheckedInDocument()) as OpenApiDocument;

type Mutable = {
  paths: Record<
    string,
    Record<string, Record<string, unknown> & { parameters?: { name: string; required?: boolean }[] }>
  >;
};
const clone = (): Mutable & OpenApiDocument => structuredClone(current) as Mutable & OpenApiDocument;
const at = (doc: Mutable, ...keys: string[]): Record<string, unknown> => {
  let node: unknown = doc;
  for (const k of keys) node = (node as Record<string, unknown>)[k];
  return node as Record<string, unknown>;
};
const publishBody = (doc: Mutable) =>
  at(doc, 'paths', '/api/publish', 'post', 'requestBody', 'content', 'application/json', 'schema');
const infoResult = (doc: Mutable) =>
  at(
    doc,
    'paths',
    '/api/info',
    'post',
    'responses',
    '200',
    'content',
    'application/json',
    'schema',
    'oneOf',
    '0',
    'properties',
    'result',
  );

describe('HTTP API breaking-change check (against apps/tidings/src/openapi/baseline.json)', () => {
  it('the current document breaks nothing of the baseline (regenerate it only when a release is cut)', () => {
    expect(breakingChanges(baseline, current)).toEqual([]);
  });

  it('reports a removed operation, parameter, request or response member, retyped member, newly required member', () => {
    const doc = clone();
    delete doc.paths['/api/presence_stats'];
    doc.paths['/connection/poll']!.get!.parameters = doc.paths['/connection/poll']!.get!.parameters!.filter(
      (p) => p.name !== 'wait',
    );
    const body = publishBody(doc) as { properties: Record<string, unknown>; required: string[] };
    delete body.properties.skip_history;
    body.required.push('tags');
    (body.properties.channel as Record<string, unknown>).type = 'integer';
    const result = infoResult(doc) as { properties: Record<string, unknown>; required: string[] };
    delete result.properties.versions;
    const found = breakingChanges(baseline, doc);
    expect(found).toEqual(
      expect.arrayContaining([
        'POST /api/presence_stats: removed',
        'GET /connection/poll query wait: removed',
        'POST /api/publish body.skip_history: removed',
        'POST /api/publish body.tags: newly required',
        'POST /api/publish body.channel: type "string" became "integer"',
        'POST /api/info 200<oneOf[0]>.result.versions: removed',
      ]),
    );
    expect(found).toHaveLength(6);
  });

  it('reports a response member that is no longer always present', () => {
    const doc = clone();
    const result = infoResult(doc) as { required: string[] };
    result.required = result.required.filter((r) => r !== 'versions');
    expect(breakingChanges(baseline, doc)).toEqual([
      'POST /api/info 200<oneOf[0]>.result.versions: no longer always present',
    ]);
  });

  it('never reports additions: a new operation, an optional request member, a new response member', () => {
    const doc = clone();
    doc.paths['/api/new_method'] = structuredClone(doc.paths['/api/info']!);
    (publishBody(doc) as { properties: Record<string, unknown> }).properties.note = { type: 'string' };
    (infoResult(doc) as { properties: Record<string, unknown> }).properties.extra = { type: 'string' };
    expect(breakingChanges(baseline, doc)).toEqual([]);
  });
});
