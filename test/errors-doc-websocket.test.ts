import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

// Regression (issue 15): close code 1007, which ws sends for invalid UTF-8, was not documented.
describe('docs/errors.md: WebSocket-layer close codes', () => {
  it.each(['1002', '1007', '1009'])('lists close code %s in its table', (code) => {
    expect(doc).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});
