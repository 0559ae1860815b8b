// Writes the HTTP API baseline (apps/tidings/src/openapi/baseline.json) that breaking.test.ts
// compares the document with: `npm run openapi:baseline -w tidings`. Run it on purpose only,
// when a release is cut (docs/versioning.md); never to silence the check.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCheckedInDocument } from './checked-in.js';

// The source file, also when run from dist/ (src/openapi and dist/openapi sit at the same depth).
const target = fileURLToPath(new URL('../../src/openapi/baseline.json', import.meta.url));
writeFileSync(target, renderCheckedInDocument());
execFileSync('npx', ['biome', 'format', '--write', target], { stdio: 'ignore' });
process.stdout.write(`wrote ${target}\n`);
