import { describe, expect, it } from 'vitest';
import { apiMethods, isApiMethod, methodSchemas } from '../api/api-schemas.js';
import { serverApiPaths } from './api-paths.js';
import { OpenApiChecker } from './openapi-check.test-helpers.js';
import { createOpenApiDocument } from './openapi-document.js';
import { renderOpenApiHtml } from './openapi-html.js';
import type { OpenApiDocument, OpenApiOperation } from './openapi-types.js';
import { streamPaths } from './stream-paths.js';

const allStreams = {
  websocket: '/connection/websocket',
  sse: '/connection/sse',
  httpStream: '/connection/stream',
  poll: '/connection/poll',
  emulation: { httpStreamPath: '/connection/http_stream', ssePath: '/connection/sse', path: '/emulation' },
};

const doc = createOpenApiDocument({ serverVersion: '9.9.9', paths: [serverApiPaths(), streamPaths(allStreams)] });

function operations(d: OpenApiDocument): [string, string, OpenApiOperation][] {
  return Object.entries(d.paths).flatMap(([path, item]) =>
    (Object.entries(item) as [string, OpenApiOperation][]).map(([m, op]): [string, string, OpenApiOperation] => [
      m,
      path,
      op,
    ]),
  );
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with unique operation ids and an entry for every server API method', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = operations(doc).map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const method of apiMethods) expect(doc.paths[`/api/${method}`]?.post, method).toBeDefined();
    expect(doc.paths['/api/history/stream']?.get).toBeDefined();
    for (const path of ['/connection/sse', '/connection/stream', '/connection/poll', '/emulation']) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });

  it('every schema compiles (ajv strict, JSON Schema 2020-12) and every example validates against its schema', () => {
    const checker = new OpenApiChecker(doc);
    const schemas = JSON.stringify(doc).match(/"(schema|x-item-schema)":/g)?.length;
    let compiled = 0;
    const walk = (value: unknown): void => {
      if (value === null || typeof value !== 'object') return;
      for (const [k, v] of Object.entries(value)) {
        if ((k === 'schema' || k === 'x-item-schema') && typeof v === 'object') {
          checker.errors(v, null); // throws when ajv cannot compile it
          compiled++;
        } else walk(v);
      }
    };
    walk(doc.paths);
    expect(compiled).toBe(schemas);
    const { checked, problems } = checker.checkExamples();
    expect(problems).toEqual([]);
    // Request and 200 examples of 12 methods, streams, poll, emulation, parameters.
    expect(checked).toBeGreaterThan(40);
  });

  it('catches an example that disagrees with its schema', () => {
    const broken = structuredClone(doc) as unknown as {
      paths: Record<
        string,
        {
          post: {
            responses: Record<string, { content: Record<string, { examples: Record<string, { value: unknown }> }> }>;
          };
        }
      >;
    };
    const example = broken.paths['/api/publish']!.post.responses['200']!.content['application/json']!.examples.example!;
    example.value = { result: { offset: -1, epoch: 'e' } };
    const { problems } = new OpenApiChecker(broken as unknown as OpenApiDocument).checkExamples();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain('POST /api/publish 200');
  });

  it('request examples are accepted by the zod schemas the handler validates with', () => {
    for (const method of apiMethods) {
      const op = doc.paths[`/api/${method}`]?.post as {
        requestBody: { content: Record<string, { examples: { example: { value: unknown } } }> };
      };
      const example = op.requestBody.content['application/json']!.examples.example.value;
      if (isApiMethod(method)) expect(methodSchemas[method].safeParse(example).success, method).toBe(true);
    }
  });

  it('documents a moved or shared SSE path once, and the emulation SSE path apart when it differs', () => {
    const shared = streamPaths(allStreams);
    expect(shared['/connection/sse']?.get?.parameters?.some((p) => (p as { name: string }).name === 'cf_connect')).toBe(
      true,
    );
    const apart = streamPaths({ ...allStreams, sse: '/events' });
    expect(apart['/events']?.get?.operationId).toBe('sse');
    expect(apart['/connection/sse']?.get?.operationId).toBe('emulation_sse');
    expect(() => createOpenApiDocument({ serverVersion: '1', paths: [serverApiPaths(), serverApiPaths()] })).toThrow(
      /defined twice/,
    );
  });

  it('renders an HTML page with every operation, no script and no external resource', () => {
    const html = renderOpenApiHtml(doc);
    for (const [, , op] of operations(doc)) expect(html).toContain(`id="${op.operationId}"`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('escapes text from the document and renders `code` spans', () => {
    const hostile = createOpenApiDocument({
      serverVersion: '<b>1</b>',
      paths: [
        {
          '/x': {
            get: {
              operationId: 'x"><img src=y onerror=alert(1)>',
              summary: '<script>alert(1)</script>',
              description: 'uses `a<b>` here',
              tags: ['Operations'],
              responses: { '200': { description: '`ok` <i>' } },
            },
          },
        },
      ],
    });
    const html = renderOpenApiHtml(hostile);
    expect(html).not.toMatch(/<script|<img|<i>|<b>1/);
    expect(html).toContain('<code>a&lt;b&gt;</code>');
    expect(html).toContain('<code>ok</code> &lt;i&gt;');
  });
});
