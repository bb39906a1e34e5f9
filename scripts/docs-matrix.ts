// Writes the GPU software matrix table into README.md from src/cloud/gpu-software-matrix.ts
// (between its markers), so the README never says other than the checks do. `npm run docs:matrix`.
import * as fs from 'fs';
import * as path from 'path';
import { matrixMarkdown, MATRIX_BEGIN, MATRIX_END } from '../src/cloud/gpu-software-matrix';

const file = path.join(__dirname, '..', 'README.md');
const readme = fs.readFileSync(file, 'utf8');
const start = readme.indexOf(MATRIX_BEGIN);
const end = readme.indexOf(MATRIX_END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${MATRIX_BEGIN} ... ${MATRIX_END} block`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + MATRIX_BEGIN.length)}\n${matrixMarkdown()}\n${readme.slice(end)}`;
if (updated !== readme) fs.writeFileSync(file, updated);
console.log(updated === readme ? 'README.md matrix is up to date' : 'README.md matrix rewritten');
