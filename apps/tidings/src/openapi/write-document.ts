// Writes docs/openapi.json, the OpenAPI document of `tidings serve` with the default
// configuration (metrics on, on the main port): `npm run docs:openapi -w tidings`.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCheckedInDocument } from './checked-in.js';

// src/openapi and dist/openapi sit at the same depth, so this resolves from either.
const target = fileURLToPath(new URL('../../../../docs/openapi.json', import.meta.url));
writeFileSync(target, renderCheckedInDocument());
// Formatted as the repository's Biome check wants it (the freshness test compares parsed JSON).
execFileSync('npx', ['biome', 'format', '--write', target], { stdio: 'ignore' });
process.stdout.write(`wrote ${target}\n`);
