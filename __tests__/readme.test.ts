// The README's TypeScript examples compile against the library, so they stay true.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { PROJECT_ROOT } from './support/checks';

test('every ```ts block in the README type-checks', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.readme-check-'));
  try {
    const files = blocks.map((code, i) => {
      const file = path.join(dir, `example${i}.ts`);
      // Each block is a module of its own, importing the package as a user would.
      fs.writeFileSync(file, `${code.replace(/'cdktf-openstack-gpu'/g, `'${path.join(PROJECT_ROOT, 'src')}'`)}\nexport {};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      strict: true, noUnusedLocals: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
      esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'],
    });
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(d.file.fileName))
      .map((d) => `${path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, os.EOL)}`);
    expect(problems).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
