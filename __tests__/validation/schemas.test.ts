// Every prop of every public props interface is in the runtime schema (validation-schemas.ts),
// so that a valid prop is never refused as unknown, and a new prop cannot be forgotten.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { SCHEMAS } from '../../src/core/validation-schemas';
import { PROJECT_ROOT } from '../support/checks';

// Interfaces that callers do not write: results, and options the library's constructs pass itself.
const NOT_INPUT = new Set(['NodeImageConfig', 'ResolvedGpuFlavor', 'RenderedUserData', 'RecipeRenderOptions', 'RecipeStepOptions', 'RecipeStep']);

function publicInterfaces(): Map<string, string[]> {
  // The public API: the modules src/index.ts re-exports.
  const index = fs.readFileSync(path.join(PROJECT_ROOT, 'src', 'index.ts'), 'utf8');
  const files = [...index.matchAll(/^export \* from '\.\/([\w/-]+)';$/gm)].map((m) => path.join(PROJECT_ROOT, 'src', `${m[1]}.ts`));
  expect(files.length).toBeGreaterThan(10);
  const own = new Map<string, { props: string[]; bases: string[] }>();
  for (const file of files) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2020, true);
    source.forEachChild((node) => {
      if (ts.isInterfaceDeclaration(node) && node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
        const name = node.name.text;
        // @internal interfaces are plumbing (jsii leaves them out of the API).
        if (ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal')) return;
        // I* are resources (INetwork, IKeyPair, ...), checked by shape where they are props.
        if (/^I[A-Z]/.test(name) || NOT_INPUT.has(name)) return;
        const bases = (node.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.expression.getText(source)));
        own.set(name, { props: node.members.filter(ts.isPropertySignature).map((m) => (m.name as ts.Identifier).text), bases });
      }
    });
  }
  // A props interface takes the props of the interfaces it extends (GpuNodeProps extends GpuNodeBaseProps ...).
  const all = (name: string): string[] => {
    const entry = own.get(name);
    if (!entry) throw new Error(`${name} extends an interface that is not a public props interface of src/constructs`);
    return [...entry.props, ...entry.bases.flatMap(all)];
  };
  return new Map([...own.keys()].map((name) => [name, all(name)]));
}

test('every public props interface has a schema with exactly its props', () => {
  const interfaces = publicInterfaces();
  expect(interfaces.size).toBeGreaterThanOrEqual(15);
  expect([...interfaces.keys()].sort()).toEqual(Object.keys(SCHEMAS).sort());
  for (const [name, props] of interfaces) {
    expect({ [name]: Object.keys(SCHEMAS[name]).sort() }).toEqual({ [name]: [...props].sort() });
  }
});

test('fleets and Slurm worker groups take the node options', () => {
  const options = Object.keys(SCHEMAS.GpuNodeOptions);
  expect(options).toEqual(expect.arrayContaining(['rolloutToken', 'replaceOnChange', 'tags', 'availabilityZone', 'lifetimeWarningHours']));
  for (const taker of ['GpuNodeProps', 'GpuFleetProps', 'SlurmWorkerGroupOptions']) {
    expect({ [taker]: Object.keys(SCHEMAS[taker]) }).toEqual({ [taker]: expect.arrayContaining(options) });
  }
  expect(Object.keys(SCHEMAS.GpuFleetProps)).toEqual(expect.arrayContaining(Object.keys(SCHEMAS.GpuNodeBaseProps)));
});

test('the recent GpuNode props are in the schema', () => {
  expect(Object.keys(SCHEMAS.GpuNodeProps)).toEqual(expect.arrayContaining(['outputs', 'waitForReady', 'preflight', 'dataVolume', 'rolloutToken']));
});
