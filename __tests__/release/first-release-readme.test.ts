// An app written for the first release (0.1.0, commit b22710a) ports with the changelog alone: the
// 0.1.0 README's examples and a 0.1 app with the calls users reported broken, with CHANGELOG.md's
// `Migration:` lines applied mechanically, type-check and synthesize against the current library.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { PROJECT_ROOT } from '../support/checks';
import { testUnless } from '../support/skip';

const FIXTURES = path.join(PROJECT_ROOT, '__tests__', 'fixtures', 'first-release');
const FIRST_RELEASE = 'b22710a';
const fixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.ts.txt')).sort();
const source = (file: string) => fs.readFileSync(path.join(FIXTURES, file), 'utf8');

interface Migration { readonly from: RegExp; readonly to: string; readonly line: string }

/**
 * The changelog's mechanical migrations: "`old` → `new`" after "Migration:" in an entry. Lower-case names that
 * stand in both forms (`name`, `hint`, `peer`) are placeholders: the first one of `old` is the
 * receiver (an identifier), the others are arguments (anything up to a comma, one level of brackets).
 */
function migrations(changelog: string): Migration[] {
  const out: Migration[] = [];
  const migrationText = changelog.split(/^- /m).filter((entry) => entry.includes('Migration:'))
    .map((entry) => entry.slice(entry.indexOf('Migration:'))).join('\n');
  for (const m of migrationText.matchAll(/`([^`]+)` → `([^`]+)`/g)) {
    const [line, before, after] = m;
    const names = (code: string) => [...code.matchAll(/(?<![.\w$'])([a-z][A-Za-z0-9]*)\b(?!\s*:)/g)].map((n) => n[1]);
    const afterNames = new Set(names(after));
    const placeholders = [...new Set(names(before))].filter((n) => afterNames.has(n) && !['this', 'true', 'false'].includes(n));
    let pattern = '';
    let rest = before;
    let seen = 0;
    const order: string[] = [];
    const token = new RegExp(`(?<![.\\w$'])(${placeholders.join('|') || '(?!)'})\\b(?!\\s*:)`);
    while (rest.length > 0) {
      const hit = token.exec(rest);
      const literal = hit ? rest.slice(0, hit.index) : rest;
      pattern += literal.split(/\s+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*');
      if (!hit) break;
      pattern += seen++ === 0 && hit.index === 0 ? '([A-Za-z_$][\\w$]*)' : '((?:[^,()\\[\\]\\n]|\\([^()\\n]*\\)|\\[[^\\[\\]\\n]*\\])+?)';
      order.push(hit[1]);
      rest = rest.slice(hit.index + hit[1].length);
    }
    const to = after.replace(token, (n) => `\u0000${order.indexOf(n)}\u0000`).replace(new RegExp(token.source, 'g'), (n) => `\u0000${order.indexOf(n)}\u0000`);
    out.push({ from: new RegExp(pattern, 'g'), to, line });
  }
  return out;
}

function migrate(code: string, all: Migration[]): { code: string; applied: string[] } {
  const applied: string[] = [];
  for (const m of all) {
    const next = code.replace(m.from, (...groups: string[]) => m.to.replace(/\u0000(\d+)\u0000/g, (_, i) => groups[Number(i) + 1].trim()));
    if (next !== code) applied.push(m.line);
    code = next;
  }
  return { code, applied };
}

/** Type errors of each file, compiled as a user's strict project would, with the package mapped to src/. */
function typeErrors(codes: { [name: string]: string }, dir: string): string[] {
  const files = Object.entries(codes).map(([name, code]) => {
    const file = path.join(dir, name.replace(/\.txt$/, ''));
    fs.writeFileSync(file, `${code.replace(/'cdktf-openstack-gpu'/g, `'${path.join(PROJECT_ROOT, 'src')}'`)}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
    esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'],
  });
  return ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map((d) => `${path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

const all = migrations(fs.readFileSync(path.join(PROJECT_ROOT, 'CHANGELOG.md'), 'utf8'));
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.readme-check-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const firstReadme = spawnSync('git', ['show', `${FIRST_RELEASE}:README.md`], { cwd: PROJECT_ROOT, encoding: 'utf8' });
const readmeBlocks = () => fixtures.filter((f) => f.startsWith('readme-example-')).map(source);

test('the fixtures hold the 0.1.0 README\'s three code blocks', () => {
  expect(readmeBlocks().length).toBe(3);
});

testUnless(firstReadme.status === 0 ? undefined : `commit ${FIRST_RELEASE} is not in this clone (the fixtures stand in for it)`,
  "the fixtures are the 0.1.0 README's code blocks, verbatim", () => {
  const readme = firstReadme;
  const blocks = readmeBlocks();
  expect(blocks).toEqual([...readme.stdout.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]));
});

test('the 0.1 app with the reported calls does not compile unported (the changes are real)', () => {
  const errors = typeErrors({ 'unported-consumer-app.ts.txt': source('consumer-app.ts.txt') }, dir);
  expect(errors).toEqual(expect.arrayContaining([
    expect.stringMatching(/fromName|Expected 3-4 arguments/),
    expect.stringMatching(/addIngress|securityGroup/),
    expect.stringMatching(/'from' does not exist/),
  ]));
});

test('with the changelog\'s migration lines every 0.1 app type-checks and synthesizes', () => {
  const ported: { [name: string]: string } = {};
  const used = new Set<string>();
  for (const f of fixtures) {
    const { code, applied } = migrate(source(f), all);
    ported[f] = code;
    applied.forEach((l) => used.add(l));
  }
  // The consumer app needed the KeyPair, security group and ingress migrations.
  expect([...used].join('\n')).toMatch(/KeyPair\.fromName[\s\S]*nodeSecurityGroup[\s\S]*peers/);
  expect(typeErrors(ported, dir)).toEqual([]);

  // Synthesize each as `cdktf synth` runs an app (the README examples read ~/.ssh/id_ed25519.pub).
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'first-release-home-'));
  fs.mkdirSync(path.join(home, '.ssh'));
  fs.writeFileSync(path.join(home, '.ssh', 'id_ed25519.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1tW4B2dNq1Zl3P7e5q3P0n3c6oFh4Y2k0m7Xyq1s2T alice@example\n');
  for (const f of fixtures.filter((n) => /app|example-[13]/.test(n))) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-release-out-'));
    const file = path.join(dir, f.replace(/\.txt$/, ''));
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', file], {
      cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, HOME: home, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
    });
    expect([f, r.status, r.stderr]).toEqual([f, 0, '']);
    const stacks = fs.readdirSync(path.join(outdir, 'stacks'));
    expect([f, stacks.length > 0]).toEqual([f, true]);
    for (const s of stacks) {
      const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', s, 'cdk.tf.json'), 'utf8'));
      expect([f, s, Object.keys(json.resource.openstack_compute_instance_v2 ?? {}).length > 0 || !!json.resource.terraform_data])
        .toEqual([f, s, true]);
    }
  }
});
