// The mini-cloud tier: the real terraform-provider-openstack against cloud-tier/cloud.sh's OpenStack.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from '../support/checks';

export const CLOUD_STATE = path.join(PROJECT_ROOT, '.cloud-tier', 'cloud');
export const CLOUDS_YAML = path.join(CLOUD_STATE, 'clouds.yaml');

export interface Tier {
  /** Why the tier cannot run here, or undefined. */
  readonly skipped?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly tf: string;
}

/** The tools (tools.sh) and a cloud that answers (cloud.sh up ran); else the reason. */
export function tier(): Tier {
  const tools = spawnSync('bash', [path.join(PROJECT_ROOT, 'cloud-tier', 'tools.sh')], { encoding: 'utf8' });
  if (tools.status !== 0) return { skipped: `cloud-tier/tools.sh failed: ${tools.stderr.trim().split('\n').pop()}`, env: {}, tf: '' };
  const vars = Object.fromEntries(tools.stdout.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  if (!fs.existsSync(CLOUDS_YAML)) return { skipped: `no mini-cloud here (${CLOUDS_YAML} missing; run cloud-tier/cloud.sh up)`, env: {}, tf: '' };
  const env = { ...process.env, TF_CLI_CONFIG_FILE: vars.TF_CLI_CONFIG_FILE, OS_CLIENT_CONFIG_FILE: CLOUDS_YAML, OS_CLOUD: 'openstack', CHECKPOINT_DISABLE: '1' };
  const ping = spawnSync('openstack', ['token', 'issue', '-f', 'value', '-c', 'id'], { encoding: 'utf8', env, timeout: 60000 });
  if (ping.status !== 0) return { skipped: `the mini-cloud does not answer: ${`${ping.stderr}`.trim().split('\n').pop()}`, env: {}, tf: '' };
  return { env, tf: vars.TF_BIN };
}

/** terraform (or tofu) in a synthesized stack's folder. */
export function tf(t: Tier, dir: string, ...args: string[]): { status: number; output: string } {
  const r = spawnSync(t.tf, args, { cwd: dir, encoding: 'utf8', env: t.env, timeout: 540000 });
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}
