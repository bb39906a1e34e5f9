// The node side of the contract (cloud-init/node/lib/gpu-node-contract.sh): the scripts refuse to run
// without a variable the recipe always writes, naming it, instead of defaulting silently.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nodeContract } from '../../src/core/node-contract';
import { recipeEnv } from '../support/node-env';

const CLOUD_INIT = path.resolve(__dirname, '../../cloud-init/node');
let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-node-contract-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runStep(script: string, env: Record<string, string>) {
  const consoleFile = path.join(dir, 'console');
  fs.writeFileSync(consoleFile, '');
  const r = spawnSync('bash', [path.join(CLOUD_INIT, script)], {
    encoding: 'utf8', timeout: 15000,
    env: {
      PATH: '/usr/bin:/bin', HOME: dir, GPU_NODE_CONFIG: path.join(dir, 'no-recipe.env'), GPU_NODE_ROOT: dir,
      GPU_NODE_STATE_DIR: path.join(dir, 'state'), GPU_NODE_LOG_DIR: path.join(dir, 'logs'), GPU_NODE_CONSOLE: consoleFile,
      ...env,
    },
  });
  return { ...r, console: fs.readFileSync(consoleFile, 'utf8') };
}

describe('gpu_require_vars', () => {
  // packages.sh with no packages does nothing but log: a step that must succeed with the full environment.
  test('a step runs with every required variable set (empty ones included)', () => {
    const r = runStep('steps/packages.sh', recipeEnv());
    expect(r.stderr).not.toMatch(/lacks/);
    expect(r.status).toBe(0);
  });

  test.each([...nodeContract().requiredVars])('a step without %s exits non-zero, naming it on stderr and the console', (name) => {
    const env = recipeEnv({ GPU_NODE_RECIPE_NAME: 'torch' });
    delete env[name];
    const r = runStep('steps/packages.sh', env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(` lacks ${name} (`);
    const recipe = name === 'GPU_NODE_RECIPE_NAME' ? 'unknown' : 'torch';
    expect(r.console).toMatch(new RegExp(`^${nodeContract().markFailed} recipe=${recipe} step=packages reason=".* lacks ${name} \\(`));
  });

  test('the runner names every missing variable at once', () => {
    const env = recipeEnv();
    delete env.GPU_NODE_USER;
    delete env.GPU_NODE_STEPS;
    const r = runStep('bin/gpu-node-run', env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(' lacks GPU_NODE_USER GPU_NODE_STEPS (');
  });
});
