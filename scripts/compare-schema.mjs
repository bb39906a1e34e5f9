#!/usr/bin/env node
// ESM entry point for the schema conformance checker; the logic lives in
// compare-schema.cjs so that ts-jest (CommonJS mode) can require it directly.
//   node scripts/compare-schema.mjs PINNED.json REFERENCE.json
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const checker = require('./compare-schema.cjs');

export const { compareSchemas, main } = checker;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
