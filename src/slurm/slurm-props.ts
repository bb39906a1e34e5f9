// The worker groups and power saving of a SlurmCluster, checked: plain specs in (the props as this module
// reads them), so the constructs' types stay out.
import { checkCredentialTarget } from '../cloud/application-credential';
import { requireKnown } from '../core/validation';
import type { SlurmPowerSavingOptions } from './slurm-cluster';
import type { SlurmClusterModel } from './slurm-config';
import { CLUSTER_BIN_DIR } from './slurm-recipe';

/** A worker group, as this module reads `SlurmWorkerGroupOptions`. */
export interface WorkerGroupSpec {
  readonly partition: string;
  readonly count: number;
}

/** Throws naming `path` for a bad partition name, a partition twice, or a count out of range. */
export function checkWorkerGroups(path: string, groups: readonly WorkerGroupSpec[]): void {
  if (groups.length === 0) throw new Error(`${path}: workerGroups must list at least one group, e.g. [{ partition: 'gpu', flavor, count: 2 }]`);
  const partitions = new Set<string>();
  for (const [i, g] of groups.entries()) {
    if (!/^[a-z][a-z0-9]{0,15}$/.test(g.partition ?? '')) {
      throw new Error(`${path}: workerGroups[${i}].partition must be 1-16 lower-case letters and digits, starting with a letter, got '${g.partition}'`);
    }
    // slurm.conf(5): a PartitionName=DEFAULT line (any case) sets the defaults of later lines and makes no partition.
    if (g.partition === 'default') {
      throw new Error(`${path}: workerGroups[${i}].partition must be a name other than 'default' (Slurm reads PartitionName=default as ` +
        "the defaults line, so no partition would exist), got 'default'; name it after its GPUs, e.g. 'gpu'");
    }
    if (partitions.has(g.partition)) throw new Error(`${path}: workerGroups lists partition '${g.partition}' twice; give each group its own`);
    partitions.add(g.partition);
    requireKnown(path, `workerGroups[${i}].count`, g.count, 'it sizes slurm.conf, which is written at synth');
    if (!Number.isInteger(g.count) || g.count < 1 || g.count > 64) {
      throw new Error(`${path}: workerGroups[${i}].count must be a whole number from 1 to 64 known at synth (it sizes slurm.conf), got ${g.count}`);
    }
  }
}

/** The power-saving settings of the cluster's model (undefined: off); throws naming `path` for bad options. */
export function powerSavingSettings(path: string, power: SlurmPowerSavingOptions | undefined): SlurmClusterModel['powerSaving'] {
  const powerMinutes = (name: 'suspendAfterMinutes' | 'resumeTimeoutMinutes' | 'suspendTimeoutMinutes', fallback: number, max: number): number => {
    const v = power?.[name] ?? fallback;
    requireKnown(path, `powerSaving.${name}`, v, 'written into slurm.conf at synth');
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new Error(`${path}: powerSaving.${name} must be a whole number of minutes from 1 to ${max}, got ${v}`);
    }
    return v;
  };
  // authUrl, region and roles: the check the node's idleShelve shares (application-credential.ts).
  if (power) checkCredentialTarget(path, 'powerSaving', power, "the head's");
  return power ? {
    suspendTimeSeconds: powerMinutes('suspendAfterMinutes', 30, 7 * 24 * 60) * 60,
    resumeTimeoutSeconds: powerMinutes('resumeTimeoutMinutes', 20, 120) * 60,
    suspendTimeoutSeconds: powerMinutes('suspendTimeoutMinutes', 10, 120) * 60,
    programDir: CLUSTER_BIN_DIR, cloud: 'gpu-cluster', cloudsYaml: '/etc/gpu-cluster/clouds.yaml',
  } : undefined;
}

/** Throws naming `path` unless `name` can prefix host names (1-41 lower-case letters, digits and '-'). */
export function checkClusterName(path: string, name: string): void {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) {
    throw new Error(`${path}: clusterName must be 1-41 lower-case letters, digits and '-', starting with a letter (it prefixes host names), ` +
      `got '${name}'`);
  }
}

/** A node's own metadata with the cluster's on top (its keys carry the nodes' addresses and the credential). */
export function mergedMetadata(own: { [key: string]: string } | undefined, cluster: { [key: string]: string } | undefined): { [key: string]: string } | undefined {
  return own || cluster ? { ...own, ...cluster } : undefined;
}

/** How long the head waits for the workers and the test job, in minutes (default 30); throws naming `path` out of range. */
export function readyTimeoutMinutes(path: string, given: number | undefined): number {
  const timeout = given ?? 30;
  requireKnown(path, 'readyTimeoutMinutes', timeout, "written into the cluster's settings on the nodes at synth");
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 720) {
    throw new Error(`${path}: readyTimeoutMinutes must be a whole number from 1 to 720 known at synth, got ${timeout}`);
  }
  return timeout;
}
