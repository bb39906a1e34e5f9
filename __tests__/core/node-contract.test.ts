import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { GpuModel, GpuRecipe } from '../../src';
import { CONTRACT_FILE, nodeContract } from '../../src/core/node-contract';
import { recipeEnvEntries } from '../../src/recipe/recipe-render';

// The one contract between TypeScript and the node's scripts (cloud-init/node/lib/gpu-node-contract.sh):
// the renderer writes exactly its variables, and its step lists name steps the recipe knows.

const ROOT = path.resolve(__dirname, '..', '..');
const contract = nodeContract();

/** The names recipe.env assigns, in order, from a rendered user_data. */
function envNames(text: string): string[] {
  const files = (YAML.parse(text.replace(/^#cloud-config\n/, '')) as any).write_files as { path: string; content: string }[];
  const env = files.find((f) => f.path === '/etc/gpu-node/recipe.env')!.content;
  return env.split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split('=')[0]);
}

describe('recipe.env', () => {
  test.each<[string, () => string]>([
    ['a default recipe', () => new GpuRecipe()._render({ expectedGpus: 1 }).text],
    ['a full recipe on an NVSwitch board with a lifetime and a seal', () => new GpuRecipe({
      name: 'full', packages: ['htop'], commands: ['true'], burnInSeconds: 60,
    })._render({ expectedGpus: 8, expectedModel: GpuModel.H100_SXM5, lifetimeHours: 72, sealForSnapshot: true }).text],
  ])('%s writes exactly the contract\'s GPU_NODE_REQUIRED_VARS, in its order', (_what, render) => {
    expect(contract.requiredVars.length).toBeGreaterThan(10);
    expect(envNames(render())).toEqual([...contract.requiredVars]);
  });

  test('the renderer refuses values the contract does not list, and a contract variable it does not write', () => {
    const all = Object.fromEntries(contract.requiredVars.map((v) => [v, '']));
    expect(recipeEnvEntries(all).map(([k]) => k)).toEqual([...contract.requiredVars]);
    expect(() => recipeEnvEntries({ ...all, GPU_NODE_NEW: 1 })).toThrow(/not in the contract: GPU_NODE_NEW; not written: none/);
    const { GPU_NODE_STEPS: _steps, ...withoutSteps } = all;
    expect(() => recipeEnvEntries(withoutSteps)).toThrow(/not in the contract: none; not written: GPU_NODE_STEPS/);
  });

  test('the contract ships to every node, ahead of the library that sources it', () => {
    const files = (YAML.parse(new GpuRecipe()._render({ expectedGpus: 1 }).text.replace(/^#cloud-config\n/, '')) as any).write_files;
    const paths = files.map((f: any) => f.path);
    expect(paths.indexOf('/opt/gpu-node/lib/gpu-node-contract.sh')).toBeGreaterThanOrEqual(0);
    expect(paths.indexOf('/opt/gpu-node/lib/gpu-node-contract.sh')).toBeLessThan(paths.indexOf('/opt/gpu-node/lib/gpu-node-common.sh'));
    expect(files.find((f: any) => f.path === '/opt/gpu-node/lib/gpu-node-contract.sh').content)
      .toBe(fs.readFileSync(path.join(ROOT, CONTRACT_FILE), 'utf8'));
  });
});

describe('steps', () => {
  // Every step a recipe can have: all options on.
  const all = new GpuRecipe({ packages: ['htop'], commands: ['true'], burnInSeconds: 60 })
    ._steps({ lifetime: true, seal: true, fabricManager: true, idleShelve: true });
  const names = all.map((s) => s.name);

  test('the contract\'s step lists name steps of the recipe', () => {
    for (const s of [...contract.everyBootSteps, ...contract.imageSteps]) expect(names).toContain(s);
    expect(contract.everyBootSteps).toEqual(['nvidia-driver', 'lifetime', 'ready-check']);
  });

  test('every shipped step script is a step of the recipe, and every step\'s files exist', () => {
    const shipped = fs.readdirSync(path.join(ROOT, 'cloud-init', 'node', 'steps')).map((f) => `steps/${f}`).sort();
    expect(all.flatMap((s) => (s.script ? [s.script] : [])).sort()).toEqual(shipped);
    for (const f of all.flatMap((s) => s.tools)) expect(fs.existsSync(path.join(ROOT, 'cloud-init', 'node', f))).toBe(true);
    // user-commands is rendered from the recipe's commands, not shipped.
    expect(all.find((s) => s.name === 'user-commands')?.script).toBeUndefined();
  });
});

describe('markers and prefixes', () => {
  test('are the values the scripts and the watcher print and read', () => {
    expect([contract.markReady, contract.markFailed, contract.markRebooting, contract.markSealing, contract.markSealed])
      .toEqual(['GPU-NODE-READY', 'GPU-NODE-FAILED', 'GPU-NODE-REBOOTING', 'GPU-NODE-SEALING', 'GPU-NODE-SEALED']);
    expect([contract.clusterMarkReady, contract.clusterMarkFailed]).toEqual(['GPU-CLUSTER-READY', 'GPU-CLUSTER-FAILED']);
    expect(contract.imageTagPrefix).toBe('gpu-node-recipe-');
  });

  test('every image property the recipe describes has the contract\'s prefix', () => {
    const keys = Object.keys(new GpuRecipe()._describe());
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith(contract.propertyPrefix)).toBe(true);
  });
});
