// Pure model -> text renderer for a Slurm GPU cluster's slurm.conf, gres.conf, cgroup.conf and the
// node-side scripts' cluster.env. No cdktf imports: the text is rendered at synth time from plain values.
//
// Option names checked against the Slurm man pages (slurm.conf(5), gres.conf(5), cgroup.conf(5),
// https://slurm.schedmd.com/) and against the parsers of the releases Ubuntu ships (SchedMD/slurm tags
// slurm-21-08-5-1 and slurm-23-11-4-1: src/common/read_config.c `slurm_ctl_conf_options`, and the
// cgroup.conf options in src/common/cgroup.c resp. src/interfaces/cgroup.c), and run against real
// Slurm 22.05 daemons in __tests__/slurm/real-slurm.test.ts.

import { GPU_CLUSTER_ADDRESS_METADATA_PREFIX, GPU_CLUSTER_BIN_DIR, GPU_CLUSTER_OS_METADATA_PREFIX, GPU_CLUSTER_REQUIRED_VARS } from '../core/contract.generated';
import { contractEntries } from '../core/node-contract';

/** Slurm releases the renderer knows; Ubuntu 22.04 ships 21.08, Debian 12 22.05, Ubuntu 24.04 23.11. */
export const SLURM_VERSIONS = ['21.08', '22.05', '23.11'] as const;

/** Where the node-side scripts of cloud-init/slurm/ are installed on every node. */
export const CLUSTER_BIN_DIR = GPU_CLUSTER_BIN_DIR;
/**
 * The workers' HealthCheckProgram (cloud-init/slurm/slurm-health-check), and how often slurmd runs it: every
 * 5 minutes, as the node's own gpu-node-health.timer; one nvidia-smi (and nvidia-container-cli) call each.
 */
export const HEALTH_CHECK_SCRIPT = 'slurm-health-check';
export const HEALTH_CHECK_PROGRAM = `${CLUSTER_BIN_DIR}/${HEALTH_CHECK_SCRIPT}`;
export const HEALTH_CHECK_INTERVAL_SECONDS = 300;

/** Where the head shares the cluster's plumbing (munge key, config, node reports) over NFS. */
export const CLUSTER_SHARE_DIR = '/srv/gpu-cluster';
/** The users' shared directory, exported by the head and mounted at the same path on every worker. */
export const SHARED_DATA_DIR = '/shared';
/**
 * On an existing network: the server metadata key prefix of each node's address (`<prefix><node name>`,
 * a Terraform reference to the node's port), and `@<key>@` is its placeholder in the rendered files,
 * which the setup scripts replace at boot (slurm_resolve_addresses in cloud-init/slurm/slurm-cluster-lib.sh,
 * which takes the prefix from the node contract).
 */
export const ADDRESS_METADATA_PREFIX = GPU_CLUSTER_ADDRESS_METADATA_PREFIX;

/**
 * Power saving: the head's server metadata keys (`<prefix>auth_url`, `region`, `credential_id`,
 * `credential_secret`) from which slurm-head-setup writes the OpenStack CLI's clouds.yaml.
 */
export const OS_METADATA_PREFIX = GPU_CLUSTER_OS_METADATA_PREFIX;

/** The metadata key of a node's address. */
export function addressMetadataKey(nodeName: string): string {
  return `${ADDRESS_METADATA_PREFIX}${nodeName}`;
}

/** The placeholder that stands for a node's address until its boot (see ADDRESS_METADATA_PREFIX). */
export function addressPlaceholder(nodeName: string): string {
  return `@${addressMetadataKey(nodeName)}@`;
}

export interface SlurmNodeModel {
  /** Slurm NodeName; also the node's hostname (slurmd is started with `-N <name>`). */
  readonly name: string;
  /** The address the head and the other nodes reach this node at, or its addressPlaceholder. */
  readonly address: string;
}

export interface SlurmWorkerGroupModel {
  /** The partition name (one partition per worker group). */
  readonly partition: string;
  readonly nodes: SlurmNodeModel[];
  /** The GRES type, e.g. `rtx2080ti` (see gresTypeOf). */
  readonly gpuType: string;
  /** GPUs per node. */
  readonly gpusPerNode: number;
}

/** Paths, ports and plugins; only tests running daemons in a sandbox change them. */
export interface SlurmSiteOverrides {
  readonly confDir?: string;
  readonly stateSaveLocation?: string;
  readonly slurmdSpoolDir?: string;
  readonly logDir?: string;
  readonly pidDir?: string;
  readonly slurmctldPort?: number;
  readonly slurmdPort?: number;
  /** munge socket (AuthInfo=socket=...). */
  readonly mungeSocket?: string;
  readonly slurmUser?: string;
  readonly proctrackType?: string;
  readonly taskPlugin?: string;
  /** Prefix of the GPU device files; gres.conf lists `<prefix><i>`. */
  readonly gpuDevicePrefix?: string;
  /** HealthCheckProgram (default HEALTH_CHECK_PROGRAM). */
  readonly healthCheckProgram?: string;
  /** HealthCheckInterval in seconds (default HEALTH_CHECK_INTERVAL_SECONDS). */
  readonly healthCheckIntervalSeconds?: number;
}

/**
 * Slurm's power saving (power_save.html, slurm.conf(5)): the head's SuspendProgram shelves idle workers,
 * its ResumeProgram unshelves them when jobs need them. The workers exist all the time (a shelved server
 * keeps its port, address and disk), so their nodes are not State=CLOUD, which the guide reserves for
 * nodes "added on demand"; the head is no Slurm node (only SlurmctldHost), so it can never be suspended.
 */
export interface SlurmPowerSavingModel {
  /** SuspendTime: idle seconds before a worker is shelved. */
  readonly suspendTimeSeconds: number;
  /** SuspendTimeout: seconds a shelve may take before the node may be resumed again. */
  readonly suspendTimeoutSeconds: number;
  /** ResumeTimeout: seconds from the resume request to the worker's slurmd registering. */
  readonly resumeTimeoutSeconds: number;
  /** Where slurm-suspend and slurm-resume are (CLUSTER_BIN_DIR on the nodes). */
  readonly programDir: string;
  /** The OpenStack CLI's cloud name in the head's clouds.yaml (the cluster's application credential). */
  readonly cloud: string;
  /** The clouds.yaml the programs read (OS_CLIENT_CONFIG_FILE). */
  readonly cloudsYaml: string;
}

export interface SlurmClusterModel {
  readonly clusterName: string;
  readonly head: SlurmNodeModel;
  readonly groups: SlurmWorkerGroupModel[];
  /** The Slurm release on the nodes' image: decides the cgroup settings. */
  readonly slurmVersion: string;
  /** Seconds the head waits for every worker before it reports GPU-CLUSTER-FAILED. */
  readonly readyTimeoutSeconds?: number;
  /** Power saving (shelve idle workers); none: the workers run all the time. */
  readonly powerSaving?: SlurmPowerSavingModel;
  /** Every partition's MaxTime in minutes (the nodes' lifetime); none: INFINITE. */
  readonly maxTimeMinutes?: number;
  readonly site?: SlurmSiteOverrides;
}

export interface SlurmConfigFiles {
  /** /etc/slurm/slurm.conf: the same on every node; includes nodes.conf. */
  readonly slurmConf: string;
  /**
   * /etc/slurm/nodes.conf.in: one NodeName line per worker without its hardware; the head's setup
   * script inserts what `slurmd -C` reported on that worker (CPUs, sockets, cores, threads, RealMemory)
   * and writes nodes.conf (cloud-init/slurm/slurm-head-setup).
   */
  readonly nodesConfTemplate: string;
  /** /etc/slurm/gres.conf: the GPU device files of each worker group. */
  readonly gresConf: string;
  /** /etc/slurm/cgroup.conf. */
  readonly cgroupConf: string;
  /** /etc/gpu-cluster/cluster.env: what the node-side scripts read (sourced by bash). */
  readonly clusterEnv: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const PARTITION = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const GRES_TYPE = /^[a-z0-9_]{1,32}$/;

/** A GRES type name from a GPU model id: `RTX_2080_TI` -> `rtx_2080_ti`. */
export function gresTypeOf(modelId: string): string {
  const t = modelId.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return t || 'gpu';
}

/** The "major.minor" of a Slurm version as a comparable number, e.g. 21.08 -> 2108. */
function versionNumber(v: string): number {
  const m = /^(\d{2})\.(\d{2})/.exec(v);
  if (!m) throw new Error(`slurmVersion must look like 21.08, 22.05 or 23.11, got '${v}'`);
  return Number(m[1]) * 100 + Number(m[2]);
}

/** Slurm before 22.05 has no cgroup v2 plugin, and Ubuntu 22.04 boots with the unified (v2) hierarchy only. */
export function slurmHasCgroupV2(version: string): boolean {
  return versionNumber(version) >= 2205;
}

/**
 * Slurm 23.11 removed the `none` plugins except auth and cred (RELEASE_NOTES 23.11: "Remove 'none'
 * plugins for all but auth and cred"); its read_config.c maps `.../none` to unset, the same default.
 */
export function slurmHasNonePlugins(version: string): boolean {
  return versionNumber(version) < 2311;
}

/** `/dev/nvidia0`, or `/dev/nvidia[0-3]` for several. */
function deviceFiles(prefix: string, n: number): string {
  return n === 1 ? `${prefix}0` : `${prefix}[0-${n - 1}]`;
}

function validate(m: SlurmClusterModel): void {
  const where = `SlurmCluster ${m.clusterName}`;
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(m.clusterName)) {
    throw new Error(`${where}: clusterName must be lower-case letters, digits and '_' (Slurm lower-cases it), got '${m.clusterName}'`);
  }
  versionNumber(m.slurmVersion);
  if (m.groups.length === 0) throw new Error(`${where}: needs at least one worker group`);
  const names = new Set<string>();
  const partitions = new Set<string>();
  for (const n of [m.head, ...m.groups.flatMap((g) => g.nodes)]) {
    if (!NAME.test(n.name)) {
      throw new Error(`${where}: node name must be a host name (lower-case letters, digits, '-'), got '${n.name}'`);
    }
    if (names.has(n.name)) throw new Error(`${where}: node name '${n.name}' is used twice`);
    names.add(n.name);
    if (!n.address || /\s/.test(n.address)) throw new Error(`${where}: node ${n.name} needs an address, got '${n.address}'`);
  }
  for (const g of m.groups) {
    if (!PARTITION.test(g.partition)) throw new Error(`${where}: partition must be letters, digits, '_' and '-', got '${g.partition}'`);
    if (partitions.has(g.partition)) throw new Error(`${where}: partition '${g.partition}' is used twice`);
    partitions.add(g.partition);
    if (g.nodes.length === 0) throw new Error(`${where}: worker group ${g.partition} has no nodes`);
    if (!GRES_TYPE.test(g.gpuType)) throw new Error(`${where}: gpuType must be lower-case letters, digits and '_', got '${g.gpuType}'`);
    if (!Number.isInteger(g.gpusPerNode) || g.gpusPerNode < 1) {
      throw new Error(`${where}: worker group ${g.partition} must have at least 1 GPU per node, got ${g.gpusPerNode}`);
    }
  }
  const p = m.powerSaving;
  if (p) {
    for (const k of ['suspendTimeSeconds', 'suspendTimeoutSeconds', 'resumeTimeoutSeconds'] as const) {
      if (!(Number.isInteger(p[k]) && p[k] > 0)) throw new Error(`${where}: powerSaving.${k} must be a whole number above 0, got ${p[k]}`);
    }
    if (!/^\/[A-Za-z0-9_./-]*$/.test(p.programDir)) throw new Error(`${where}: powerSaving.programDir must be an absolute path, got '${p.programDir}'`);
    if (!/^[A-Za-z0-9_.-]+$/.test(p.cloud)) throw new Error(`${where}: powerSaving.cloud must be letters, digits, '_', '.' and '-', got '${p.cloud}'`);
    if (!/^\/[A-Za-z0-9_./-]*$/.test(p.cloudsYaml)) throw new Error(`${where}: powerSaving.cloudsYaml must be an absolute path, got '${p.cloudsYaml}'`);
  }
  if (m.maxTimeMinutes !== undefined && !(Number.isInteger(m.maxTimeMinutes) && m.maxTimeMinutes > 0)) {
    throw new Error(`${where}: maxTimeMinutes must be a whole number above 0, got ${m.maxTimeMinutes}`);
  }
  const h = m.site?.healthCheckIntervalSeconds;
  if (h !== undefined && !(Number.isInteger(h) && h > 0)) throw new Error(`${where}: site.healthCheckIntervalSeconds must be a whole number above 0, got ${h}`);
  const hp = m.site?.healthCheckProgram;
  if (hp !== undefined && !/^\/[A-Za-z0-9_./-]*$/.test(hp)) throw new Error(`${where}: site.healthCheckProgram must be an absolute path, got '${hp}'`);
  const t = m.readyTimeoutSeconds;
  if (t !== undefined && !(Number.isInteger(t) && t > 0)) {
    throw new Error(`${where}: readyTimeoutSeconds must be a whole number above 0, got ${t}`);
  }
}

/**
 * slurm.conf's power saving lines (power_save.html "Configuration": ResumeProgram, SuspendProgram,
 * ResumeTimeout, SuspendTimeout and a SuspendTime that is not INFINITE must all be set).
 */
function powerSavingLines(p: SlurmPowerSavingModel | undefined): string[] {
  if (!p) return [];
  return [
    '# Power saving: idle workers are shelved (their GPUs go back to the cloud) and unshelved for jobs.',
    `SuspendProgram=${p.programDir}/slurm-suspend`,
    `ResumeProgram=${p.programDir}/slurm-resume`,
    `SuspendTime=${p.suspendTimeSeconds}`,
    `SuspendTimeout=${p.suspendTimeoutSeconds}`,
    `ResumeTimeout=${p.resumeTimeoutSeconds}`,
    // No SlurmctldParameters=idle_on_node_suspend: it clears DRAIN of every node it suspends, an administrator's
    // drain too (power_save.c, Slurm 22.05), and never sees a failed resume (a powered down node is not suspended
    // again). slurm-suspend lifts our own drains and DOWNs after the shelve, slurm-resume retries a failed unshelve.
    // Every shelve and unshelve, and why, in slurmctld.log.
    'DebugFlags=Power',
  ];
}

/**
 * slurm.conf's health check lines, on every cluster. slurm.conf(5) of Slurm 22.05 (Debian's 22.05.8 man page):
 * slurmd runs HealthCheckProgram as root on the compute nodes that are not NOT_RESPONDING, every
 * HealthCheckInterval seconds (0, the default, disables it) and once when slurmd starts, before it registers;
 * it kills a program that runs over 60 s; "any action to be taken must be explicitly performed by the program"
 * (the drain is ours: gpu_slurm_drain in cloud-init/node/lib/gpu-node-common.sh). HealthCheckNodeState=ANY (the
 * default, written out): allocated nodes too, so a GPU lost under a job keeps new jobs off the node, and
 * drained ones, so a node drained by the check is resumed when it passes again. No CYCLE: all nodes at once,
 * which the man page says disturbs parallel jobs least.
 */
function healthCheckLines(s: SlurmSiteOverrides): string[] {
  const interval = s.healthCheckIntervalSeconds ?? HEALTH_CHECK_INTERVAL_SECONDS;
  return [
    "# Health: each worker's GPU check; a failure drains the node (sinfo -R: gpu-node health: <reason>).",
    `HealthCheckProgram=${s.healthCheckProgram ?? HEALTH_CHECK_PROGRAM}`,
    `HealthCheckInterval=${interval}`,
    'HealthCheckNodeState=ANY',
  ];
}

/** Renders every file of the cluster's Slurm configuration. */
export function renderSlurmConfig(m: SlurmClusterModel): SlurmConfigFiles {
  validate(m);
  const s = m.site ?? {};
  const confDir = s.confDir ?? '/etc/slurm';
  const logDir = s.logDir ?? '/var/log/slurm';
  const pidDir = s.pidDir ?? '/run';
  const cgroupV2 = slurmHasCgroupV2(m.slurmVersion);
  // Ubuntu 22.04 (Slurm 21.08) has only cgroup v2, which 21.08 cannot drive: track processes through
  // /proc there, and rely on CUDA_VISIBLE_DEVICES (set by the gpu GRES) instead of device cgroups.
  const proctrack = s.proctrackType ?? (cgroupV2 ? 'proctrack/cgroup' : 'proctrack/linuxproc');
  const task = s.taskPlugin ?? (cgroupV2 ? 'task/cgroup,task/affinity' : 'task/affinity');
  const allWorkers = m.groups.flatMap((g) => g.nodes);
  const nonePlugins = slurmHasNonePlugins(m.slurmVersion);

  const slurmConf = [
    `# slurm.conf for cluster ${m.clusterName}, rendered by cdktf-openstack-gpu (Slurm ${m.slurmVersion}).`,
    '# The same file on every node. Node hardware is in nodes.conf, written by the head at boot.',
    `ClusterName=${m.clusterName}`,
    `SlurmctldHost=${m.head.name}(${m.head.address})`,
    `SlurmUser=${s.slurmUser ?? 'slurm'}`,
    `SlurmctldPort=${s.slurmctldPort ?? 6817}`,
    `SlurmdPort=${s.slurmdPort ?? 6818}`,
    'AuthType=auth/munge',
    ...(s.mungeSocket ? [`AuthInfo=socket=${s.mungeSocket}`] : []),
    // CredType is read by 21.08 and later; CryptoType is its old name (23.11 still maps it).
    'CredType=cred/munge',
    `StateSaveLocation=${s.stateSaveLocation ?? '/var/lib/slurm/slurmctld'}`,
    `SlurmdSpoolDir=${s.slurmdSpoolDir ?? '/var/lib/slurm/slurmd'}`,
    `SlurmctldPidFile=${pidDir}/slurmctld.pid`,
    `SlurmdPidFile=${pidDir}/slurmd.pid`,
    `SlurmctldLogFile=${logDir}/slurmctld.log`,
    `SlurmdLogFile=${logDir}/slurmd.log`,
    `ProctrackType=${proctrack}`,
    `TaskPlugin=${task}`,
    ...(nonePlugins ? ['MpiDefault=none'] : []),
    'SchedulerType=sched/backfill',
    // cons_tres schedules GPUs as trackable resources (--gres, --gpus-per-node).
    'SelectType=select/cons_tres',
    // Memory is not a consumable: a job without --mem would otherwise take a whole node's memory.
    'SelectTypeParameters=CR_Core',
    'GresTypes=gpu',
    // A worker that rebooted (a shelve and unshelve) comes back into service on its own.
    'ReturnToService=2',
    'SlurmdTimeout=300',
    ...healthCheckLines(s),
    ...(nonePlugins ? ['JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none'] : []),
    ...powerSavingLines(m.powerSaving),
    `Include ${confDir}/nodes.conf`,
    ...m.groups.map((g, i) =>
      `PartitionName=${g.partition} Nodes=${g.nodes.map((n) => n.name).join(',')} Default=${i === 0 ? 'YES' : 'NO'} ` +
      `MaxTime=${m.maxTimeMinutes ?? 'INFINITE'} State=UP`),
    '',
  ].join('\n');

  const nodesConfTemplate = [
    '# One line per worker; the head inserts the hardware `slurmd -C` reported after NodeName.',
    ...m.groups.flatMap((g) =>
      g.nodes.map((n) => `NodeName=${n.name} NodeAddr=${n.address} Gres=gpu:${g.gpuType}:${g.gpusPerNode} State=UNKNOWN`)),
    '',
  ].join('\n');

  const prefix = s.gpuDevicePrefix ?? '/dev/nvidia';
  const gresConf = [
    '# gres.conf: the GPU device files of each worker group (File= works on every Slurm build;',
    '# AutoDetect=nvml needs a Slurm built against NVML, which the Ubuntu packages are not on every release).',
    ...m.groups.map((g) =>
      `NodeName=${g.nodes.map((n) => n.name).join(',')} Name=gpu Type=${g.gpuType} File=${deviceFiles(prefix, g.gpusPerNode)}`),
    '',
  ].join('\n');

  const cgroupConf = cgroupV2
    ? [
      // No CgroupAutomount: 23.11 logs it as defunct (src/interfaces/cgroup.c _defunct_option).
      '# cgroup.conf (Slurm 22.05 and later: cgroup v2).',
      'CgroupPlugin=autodetect',
      'ConstrainCores=yes',
      // Jobs see only the GPUs they were given.
      'ConstrainDevices=yes',
      'ConstrainRAMSpace=no',
      '',
    ].join('\n')
    : [
      // Left empty: 21.08's only cgroup plugin is v1, which a cgroup v2 host cannot load.
      '# cgroup.conf (Slurm 21.08 on a cgroup v2 host: no cgroup plugin is used, see slurm.conf).',
      '',
    ].join('\n');

  const clusterEnv = renderClusterEnv({
    SLURM_CLUSTER_NAME: m.clusterName,
    SLURM_CLUSTER_HEAD: m.head.name,
    SLURM_CLUSTER_HEAD_ADDRESS: m.head.address,
    SLURM_CLUSTER_CONF_DIR: confDir,
    SLURM_CLUSTER_SHARE_DIR: CLUSTER_SHARE_DIR,
    SLURM_CLUSTER_SHARED_DIR: SHARED_DATA_DIR,
    // name=gres pairs: what the head's readiness check expects `sinfo` to show for each worker.
    SLURM_CLUSTER_WORKERS: m.groups.flatMap((g) => g.nodes.map((n) => `${n.name}=gpu:${g.gpuType}:${g.gpusPerNode}`)).join(' '),
    SLURM_CLUSTER_WORKER_ADDRESSES: allWorkers.map((n) => n.address).join(' '),
    // partition=nodes:gpusPerNode: one test job per partition (a job runs in one partition).
    SLURM_CLUSTER_PARTITIONS: m.groups.map((g) => `${g.partition}=${g.nodes.length}:${g.gpusPerNode}`).join(' '),
    SLURM_CLUSTER_READY_TIMEOUT: m.readyTimeoutSeconds ?? 1800,
    // slurm-suspend/slurm-resume: the OpenStack CLI's cloud and config, and how long a shelve or an
    // unshelve may take; empty without power saving (no script reads them then).
    SLURM_CLUSTER_POWER_SAVING: m.powerSaving ? 1 : 0,
    SLURM_CLUSTER_OS_CLOUD: m.powerSaving?.cloud ?? '',
    SLURM_CLUSTER_OS_CONFIG: m.powerSaving?.cloudsYaml ?? '',
    SLURM_CLUSTER_RESUME_TIMEOUT: m.powerSaving?.resumeTimeoutSeconds ?? '',
    SLURM_CLUSTER_SUSPEND_TIMEOUT: m.powerSaving?.suspendTimeoutSeconds ?? '',
  });

  return { slurmConf, nodesConfTemplate, gresConf, cgroupConf, clusterEnv };
}

/**
 * cluster.env from `values`: exactly the contract's GPU_CLUSTER_REQUIRED_VARS, in its order, quoted for
 * bash (slurm-cluster-lib.sh refuses a cluster.env that lacks one); a name missing from either side throws.
 */
export function renderClusterEnv(values: { [name: string]: string | number }): string {
  const q = (v: string | number) => (typeof v === 'number' ? `${v}` : `'${v.replace(/'/g, `'\\''`)}'`);
  return [
    '# Read by cloud-init/slurm/* (bash); rendered by cdktf-openstack-gpu.',
    ...contractEntries('cluster.env', 'GPU_CLUSTER_REQUIRED_VARS', GPU_CLUSTER_REQUIRED_VARS, values).map(([k, v]) => `${k}=${q(v)}`),
    '',
  ].join('\n');
}
