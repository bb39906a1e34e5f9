// The layout of src/ (README "How the code is laid out"): folders by concept, imports one way, no cycle
// across folders, and the README's picture generated from the same dependency-cruiser run.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const script = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'layout.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });

test('src/ keeps the import rules of .dependency-cruiser.cjs (no upward import, no cycle across folders or at run time)', () => {
  const r = script('check');
  expect(r.stdout.trim()).toMatch(/^no violations \(\d+ modules\)$/);
  expect(r.status).toBe(0);
});

test("the README's layout picture is the one dependency-cruiser gives (npm run docs:layout)", () => {
  const r = script('picture');
  expect(r.status).toBe(0);
  expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(r.stdout.trim());
  // Every folder of src/ is in the picture, in the rules' order.
  const folders = fs.readdirSync(path.join(ROOT, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  for (const f of folders) expect(r.stdout).toContain(`src/${f} `);
});

test('the rules catch what they forbid: an upward type import and the cycle it closes', () => {
  // A copy of src/ with one bad import added, cruised with the same rules.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
  try {
    fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true });
    for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(path.join(ROOT, 'scripts', 'layout.mjs'), path.join(dir, 'scripts', 'layout.mjs'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.appendFileSync(path.join(dir, 'src', 'core', 'ip.ts'), "\nimport type { GpuNodeProps } from '../node/gpu-node';\nexport type Upward = GpuNodeProps;\n");
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'layout.mjs'), 'check'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('no-upward-import-from-core: src/core/ip.ts -> src/node/gpu-node.ts');
    expect(r.stdout).toMatch(/no-cycle-across-folders: .*\(cycle /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
