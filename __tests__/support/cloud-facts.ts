// The stand-in provider answers every number of a data source with 0, so the GpuNode preflight
// would find a quota of 0 instances. These helpers give a synthesized stack the quota of a
// real project instead, for plans and applies that test something else.
import * as fs from 'fs';
import * as path from 'path';

export interface Quota {
  readonly max_total_instances: number;
  readonly total_instances_used: number;
  readonly max_total_cores: number;
  readonly total_cores_used: number;
  readonly max_total_ram_size: number;
  readonly total_ram_used: number;
}

/** A project with room for ten nodes. */
export const ROOMY: Quota = {
  max_total_instances: 10, total_instances_used: 0, max_total_cores: 80, total_cores_used: 0, max_total_ram_size: 512000, total_ram_used: 0,
};

/** Replaces the stack's quota lookup (`GpuNodePreflightLimits`) in `json` by fixed numbers; returns `json`. */
export function withQuota(json: any, quota: Quota = ROOMY): any {
  const limits = json.data?.openstack_compute_limits_v2;
  if (!limits?.GpuNodePreflightLimits) return json;
  delete limits.GpuNodePreflightLimits;
  if (Object.keys(limits).length === 0) delete json.data.openstack_compute_limits_v2;
  const text = JSON.stringify(json).split('data.openstack_compute_limits_v2.GpuNodePreflightLimits.').join('local.test_quota.');
  const out = JSON.parse(text);
  out.locals = { ...out.locals, test_quota: quota };
  return out;
}

/** `withQuota` on the cdk.tf.json in `dir`, in place; returns `dir`. */
export function withQuotaInDir(dir: string, quota: Quota = ROOMY): string {
  const file = path.join(dir, 'cdk.tf.json');
  fs.writeFileSync(file, JSON.stringify(withQuota(JSON.parse(fs.readFileSync(file, 'utf8')), quota)));
  return dir;
}
