// Writes docs/configuration.md from the config schema: `npm run docs:config -w tidings`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDocs } from './docs.js';

// src/config and dist/config sit at the same depth, so this resolves from either.
const target = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigDocs());
process.stdout.write(`wrote ${target}\n`);
