// Runs the shared offline checks (../shared/tools) on synthesized stacks.
// They live beside the project, not in it; where they are absent a check says why it skipped.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const SHARED = path.resolve(PROJECT_ROOT, '..', 'shared');
export const REFERENCE_SCHEMA = path.join(SHARED, 'openstack-provider', 'schema-3.4.0.json');
const VALIDATE = path.join(SHARED, 'tools', 'tf-validate', 'validate.mjs');
const TF_CHECK = path.join(SHARED, 'tools', 'tf-stub', 'tf-check.sh');

export interface CheckResult {
  /** Why the check did not run, or undefined when it ran. */
  readonly skipped?: string;
  readonly status: number;
  readonly output: string;
}

function hasCommand(command: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

/** `validate.mjs` on cdk.tf.json files: the provider's schema and rules. */
export function tfValidate(files: string[]): CheckResult {
  if (!fs.existsSync(VALIDATE)) return skip(`${VALIDATE} not found`);
  const r = spawnSync(process.execPath, [VALIDATE, ...files], { encoding: 'utf8' });
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

/** The real `terraform plan`, offline, with the stand-in provider serving the real schema. */
export function tfPlan(stackDir: string): CheckResult {
  if (!fs.existsSync(TF_CHECK)) return skip(`${TF_CHECK} not found`);
  if (!fs.existsSync(REFERENCE_SCHEMA)) return skip(`${REFERENCE_SCHEMA} not found`);
  if (!hasCommand('terraform')) return skip('terraform is not on PATH');
  const r = spawnSync('bash', [TF_CHECK, '--schema', REFERENCE_SCHEMA, '--timeout', '240', stackDir, 'plan'], {
    encoding: 'utf8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1' },
  });
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

function skip(reason: string): CheckResult {
  if (process.env.REQUIRE_SHARED_CHECKS === '1') {
    throw new Error(`offline check cannot run: ${reason}`);
  }
  // Printed so that a skip is never silent.
  console.log(`skipped: ${reason}`);
  return { skipped: reason, status: 0, output: '' };
}

/** Synthesizes one stack into a temporary folder and returns its directory and JSON. */
export function synthToDir<T extends TerraformStack>(build: (app: App) => T): { dir: string; json: any; stack: T } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-synth-'));
  const app = Testing.stubVersion(new App({ outdir, stackTraces: false }));
  const stack = build(app);
  app.synth();
  const dir = path.join(outdir, 'stacks', stack.node.id);
  return { dir, json: JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')), stack };
}

/** Asserts that both offline checks pass on a synthesized stack directory. */
export function expectStackPassesChecks(dir: string): void {
  const validation = tfValidate([path.join(dir, 'cdk.tf.json')]);
  if (!validation.skipped) {
    expect(validation.output).toBe('');
    expect(validation.status).toBe(0);
  }
  const plan = tfPlan(dir);
  if (!plan.skipped) {
    expect(plan.output).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy\./);
    expect(plan.status).toBe(0);
  }
}

/**
 * The user_data of a synthesized server as Terraform writes it into `locals`: the server's
 * argument is `${base64gzip(local.<name>)}` (see src/recipe/user-data.ts). Returns the local's
 * text as it stands in the JSON, Terraform's `$${` and `%%{` escapes included.
 */
export function userDataOf(json: any, server: any): string {
  const match = /^\$\{base64gzip\(local\.(\w+)\)\}$/.exec(server.user_data ?? '');
  if (!match) throw new Error(`user_data is not \${base64gzip(local.<name>)}: ${String(server.user_data).slice(0, 80)}`);
  const text = json.locals?.[match[1]];
  if (typeof text !== 'string') throw new Error(`no local ${match[1]} in the stack`);
  return text;
}
