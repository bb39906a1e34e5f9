// The mini-cloud tier: the real terraform-provider-openstack against cloud-tier/cloud.sh's OpenStack.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { PROJECT_ROOT, synthToDir } from '../support/checks';

export const CLOUD_STATE = path.join(PROJECT_ROOT, '.cloud-tier', 'cloud');
export const CLOUDS_YAML = path.join(CLOUD_STATE, 'clouds.yaml');
/** Where ConsoleFakeDriver reads a server's console: `<server id>.log` (cloud.sh's GPU_CLOUD_CONSOLE_DIR). */
export const CONSOLE_DIR = path.join(CLOUD_STATE, 'console');

export interface Tier {
  /** Why the tier cannot run here, or undefined. */
  readonly skipped?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly tf: string;
}

/**
 * The tools (tools.sh) and a cloud that answers (cloud.sh up ran); else the reason to skip. A
 * machine without Go (tools.sh exit 3) skips; a failed build fails. With CLOUD_TIER=1 (.ci/run
 * ran cloud.sh up first) a missing or silent cloud fails too, instead of skipping.
 */
export function tier(): Tier {
  const required = process.env.CLOUD_TIER === '1';
  const tools = spawnSync('bash', [path.join(PROJECT_ROOT, 'cloud-tier', 'tools.sh')], { encoding: 'utf8' });
  const toolsError = `cloud-tier/tools.sh failed: ${`${tools.stderr}`.trim().split('\n').pop()}`;
  if (tools.status === 3) return { skipped: toolsError, env: {}, tf: '' };
  if (tools.status !== 0) throw new Error(toolsError);
  const vars = Object.fromEntries(tools.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  const skip = (why: string): Tier => {
    if (required) throw new Error(`CLOUD_TIER=1 but ${why}`);
    return { skipped: why, env: {}, tf: '' };
  };
  if (!fs.existsSync(CLOUDS_YAML)) return skip(`no mini-cloud here (${CLOUDS_YAML} missing; run cloud-tier/cloud.sh up)`);
  const env = { ...process.env, TF_CLI_CONFIG_FILE: vars.TF_CLI_CONFIG_FILE, OS_CLIENT_CONFIG_FILE: CLOUDS_YAML, OS_CLOUD: 'openstack', CHECKPOINT_DISABLE: '1' };
  const ping = spawnSync('openstack', ['token', 'issue', '-f', 'value', '-c', 'id'], { encoding: 'utf8', env, timeout: 60000 });
  if (ping.status !== 0) return skip(`the mini-cloud does not answer: ${`${ping.stderr}`.trim().split('\n').pop()}`);
  return { env, tf: vars.TF_BIN };
}

/** terraform (or tofu) in a synthesized stack's folder. */
export function tf(t: Tier, dir: string, ...args: string[]): { status: number; output: string } {
  const r = spawnSync(t.tf, args, { cwd: dir, encoding: 'utf8', env: t.env, timeout: 540000 });
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

/** A Python helper of the tier (cloud-tier/py/gpu_cloud_tier/inspect_cloud.py) as the user: JSON. */
export function inspect(t: Tier, what: 'server' | 'volume' | 'delete-volume' | 'stop-server' | 'shelve-server' | 'volumes-named'
  | 'fill-gpus' | 'free-gpus' | 'events' | 'server-group' | 'image', arg: string): any {
  const r = spawnSync('/usr/bin/python3', ['-m', 'gpu_cloud_tier.inspect_cloud', what, arg], {
    encoding: 'utf8', timeout: 180000, env: { ...t.env, PYTHONPATH: path.join(PROJECT_ROOT, 'cloud-tier', 'py') },
  });
  if (r.status !== 0) throw new Error(`inspect_cloud ${what} ${arg} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** One resource change of a saved plan (`terraform show -json`). */
export interface PlannedChange {
  readonly address: string;
  readonly type: string;
  readonly actions: string[];
  /** The planned values (unknowns left out). */
  readonly after: any;
}

/**
 * A stack deployed step by step into one folder that keeps its state: each `synth` replaces the
 * configuration, as `cdktf deploy` of an edited app does.
 */
export class Deployment {
  public readonly dir: string;
  /** Seconds each terraform command took, for the README's numbers. */
  public readonly timings: string[] = [];
  private initialized = false;

  constructor(private readonly t: Tier, name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `cloud-${name}-`));
  }

  /** Synthesize the stack and put its files (JSON, assets) into the deployment's folder. */
  public synth(build: (app: App) => TerraformStack): any {
    const { dir, json } = synthToDir(build);
    fs.rmSync(path.join(this.dir, 'cdk.tf.json'), { force: true });
    fs.cpSync(dir, this.dir, { recursive: true });
    fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
    // cdktf's local backend keeps the state in the project root, named by the stack: keep it here,
    // out of the working tree and apart from other runs of the same stack.
    json.terraform.backend = { local: { path: path.join(this.dir, 'terraform.tfstate') } };
    fs.writeFileSync(path.join(this.dir, 'cdk.tf.json'), JSON.stringify(json, undefined, 2));
    return json;
  }

  public init(): void {
    if (this.initialized) return;
    const init = tf(this.t, this.dir, 'init', '-input=false', '-no-color');
    if (init.status !== 0) throw new Error(`terraform init failed:\n${init.output}`);
    this.initialized = true;
  }

  public tf(...args: string[]): { status: number; output: string } {
    this.init();
    const start = Date.now();
    const r = tf(this.t, this.dir, ...args, ...(['state', 'output', 'show'].includes(args[0]) ? [] : ['-input=false', '-no-color']));
    if (!['state', 'output', 'show'].includes(args[0])) this.timings.push(`${args[0]} ${((Date.now() - start) / 1000).toFixed(1)} s`);
    return r;
  }

  public apply(): { status: number; output: string } {
    return this.tf('apply', '-auto-approve');
  }

  /** `apply` in the background, for a test that plays the console back while it runs. */
  public applyAsync(): Promise<{ status: number; output: string }> {
    this.init();
    const start = Date.now();
    return new Promise((resolve) => {
      const child = spawn(this.t.tf, ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: this.dir, env: this.t.env });
      let output = '';
      child.stdout.on('data', (b) => { output += b; });
      child.stderr.on('data', (b) => { output += b; });
      child.on('close', (code) => {
        this.timings.push(`apply ${((Date.now() - start) / 1000).toFixed(1)} s`);
        resolve({ status: code ?? 1, output });
      });
    });
  }

  public applyOk(): string {
    const r = this.apply();
    if (r.status !== 0) throw new Error(`terraform apply failed:\n${r.output.slice(-6000)}`);
    return r.output;
  }

  /** `plan -detailed-exitcode` (0: no changes, 2: changes) and its resource changes other than no-op/read. */
  public plan(): { status: number; output: string; changes: PlannedChange[] } {
    const r = this.tf('plan', '-detailed-exitcode', '-out=tier.tfplan');
    if (r.status === 1) return { ...r, changes: [] };
    const show = this.tf('show', '-json', 'tier.tfplan');
    const changes = (JSON.parse(show.output).resource_changes ?? [])
      .map((c: any) => ({ address: c.address, type: c.type, actions: c.change.actions, after: c.change.after }))
      .filter((c: PlannedChange) => !(c.actions.length === 1 && (c.actions[0] === 'no-op' || c.actions[0] === 'read')));
    return { ...r, changes };
  }

  /** The managed resources of a type in the state, as `terraform show -json` gives their values. */
  public resources(type: string): any[] {
    const show = this.tf('show', '-json');
    const state = JSON.parse(show.output);
    return (state.values?.root_module?.resources ?? []).filter((r: any) => r.type === type && r.mode === 'managed');
  }

  public one(type: string): any {
    const all = this.resources(type);
    if (all.length !== 1) throw new Error(`expected one ${type} in the state, found ${all.length}`);
    return all[0].values;
  }

  public destroy(): { status: number; output: string } {
    return this.tf('destroy', '-auto-approve');
  }
}
