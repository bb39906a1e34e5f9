// The Slurm configuration of a GPU cluster (slurm.conf, gres.conf, cgroup.conf), as a pure
// function of the cluster's shape, for SlurmCluster to write onto its nodes.
//
// One text must work with the Slurm of each Ubuntu image: 21.08 on 22.04, 23.11 on 24.04 (and
// Debian bookworm's 22.05 in the chroot test). Slurm's cgroup/v2 plugin arrived in 22.05, and
// Ubuntu 22.04 boots with the unified (v2) hierarchy only, so 21.08 gets process tracking without
// cgroups (proctrack/linuxproc, task/affinity); GPUs are still allotted through GRES, which sets
// CUDA_VISIBLE_DEVICES, but not fenced off by device cgroups. From 22.05 on, cgroups confine
// cores, memory and devices. Ubuntu's and Debian's packages are built without NVML, so gres.conf
// names the device files instead of AutoDetect=nvml.

/** A Slurm release as `major.minor`, e.g. `21.08`. */
export type SlurmVersion = string;

/** One worker as slurm.conf declares it. */
export interface SlurmNodeSpec {
  /** The node's short hostname, which slurmd reports. */
  readonly name: string;
  /** The address slurmctld uses. @default - the name, resolved by DNS or /etc/hosts */
  readonly address?: string;
  readonly cpus: number;
  /** Memory Slurm may hand out, in MiB (some below the flavor's RAM, for the OS). */
  readonly realMemoryMiB: number;
  readonly gpus: number;
  /** The GRES type, e.g. `rtx2080ti` (see `gresType`). */
  readonly gpuType: string;
}

export interface SlurmPartitionSpec {
  readonly name: string;
  readonly nodes: SlurmNodeSpec[];
}

export interface SlurmClusterSpec {
  readonly clusterName: string;
  /** The head's short hostname. */
  readonly controlHost: string;
  /** The head's address. @default - the host name */
  readonly controlAddress?: string;
  /** The first partition is the default. */
  readonly partitions: SlurmPartitionSpec[];
  /** The installed Slurm, `major.minor`. */
  readonly slurmVersion: SlurmVersion;
}

export interface SlurmConfigFiles {
  readonly slurmConf: string;
  readonly gresConf: string;
  readonly cgroupConf: string;
}

/** The Slurm release in an Ubuntu image's archive (the issue's figures; 24.04 has 23.11.4). */
export const SLURM_OF_UBUNTU: { readonly [release: string]: SlurmVersion } = { '22.04': '21.08', '24.04': '23.11' };

/** A GRES type from a GPU model id: `RTX_2080_TI` -> `rtx2080ti`. */
export function gresType(modelId: string): string {
  return modelId.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const HOST = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function versionAtLeast(version: SlurmVersion, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** Renders the three files; throws an error naming `path` on a shape Slurm would refuse. */
export function renderSlurmConfig(path: string, spec: SlurmClusterSpec): SlurmConfigFiles {
  if (!/^\d{2}\.\d{2}$/.test(spec.slurmVersion)) {
    throw new Error(`${path}: slurmVersion must be major.minor like '23.11', got '${spec.slurmVersion}'`);
  }
  if (!/^[a-z0-9_]{1,40}$/.test(spec.clusterName)) {
    throw new Error(`${path}: the Slurm cluster name must be 1-40 lowercase letters, digits or '_' (Slurm lowercases it), got '${spec.clusterName}'`);
  }
  if (!HOST.test(spec.controlHost)) {
    throw new Error(`${path}: the head's hostname must be a DNS label (letters, digits, '-'), got '${spec.controlHost}'`);
  }
  if (spec.partitions.length === 0) throw new Error(`${path}: a Slurm cluster needs at least one worker group (partition)`);
  const seenNodes = new Set<string>([spec.controlHost]);
  const seenParts = new Set<string>();
  for (const part of spec.partitions) {
    if (!/^[a-z0-9_-]{1,40}$/i.test(part.name) || seenParts.has(part.name)) {
      throw new Error(`${path}: partition names must be unique, 1-40 letters, digits, '-' or '_', got '${part.name}'`);
    }
    seenParts.add(part.name);
    if (part.nodes.length === 0) throw new Error(`${path}: partition '${part.name}' has no nodes`);
    for (const n of part.nodes) {
      if (!HOST.test(n.name)) throw new Error(`${path}: Slurm node names must be DNS labels (the node's short hostname), got '${n.name}'`);
      if (seenNodes.has(n.name)) throw new Error(`${path}: node name '${n.name}' is used twice (head and workers need distinct hostnames)`);
      seenNodes.add(n.name);
      for (const [prop, value, min] of [['cpus', n.cpus, 1], ['realMemoryMiB', n.realMemoryMiB, 1], ['gpus', n.gpus, 0]] as const) {
        if (!Number.isInteger(value) || value < min) {
          throw new Error(`${path}: ${prop} of node '${n.name}' must be a whole number of at least ${min}, got ${value}`);
        }
      }
      if (n.gpus > 0 && !/^[a-z0-9]{1,30}$/.test(n.gpuType)) {
        throw new Error(`${path}: the GRES type of node '${n.name}' must be 1-30 lowercase letters or digits, got '${n.gpuType}'`);
      }
    }
  }

  const cgroups = versionAtLeast(spec.slurmVersion, 22, 5);
  const nodes = spec.partitions.flatMap((p) => p.nodes);
  const anyGpu = nodes.some((n) => n.gpus > 0);
  const head = spec.controlAddress ? `${spec.controlHost}(${spec.controlAddress})` : spec.controlHost;
  const slurmConf = [
    `# Generated by cdktf-openstack-gpu for Slurm ${spec.slurmVersion}; the same file on every node.`,
    `ClusterName=${spec.clusterName}`,
    `SlurmctldHost=${head}`,
    'AuthType=auth/munge',
    'SlurmUser=slurm',
    'SlurmctldPort=6817',
    'SlurmdPort=6818',
    'StateSaveLocation=/var/lib/slurm/slurmctld',
    'SlurmdSpoolDir=/var/lib/slurm/slurmd',
    'SlurmctldPidFile=/run/slurmctld.pid',
    'SlurmdPidFile=/run/slurmd.pid',
    'SlurmctldLogFile=/var/log/slurm/slurmctld.log',
    'SlurmdLogFile=/var/log/slurm/slurmd.log',
    // Nodes come back by themselves after a reboot or unshelve with a valid config.
    'ReturnToService=2',
    'MpiDefault=none',
    `ProctrackType=${cgroups ? 'proctrack/cgroup' : 'proctrack/linuxproc'}`,
    `TaskPlugin=${cgroups ? 'task/cgroup,task/affinity' : 'task/affinity'}`,
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    ...(anyGpu ? ['GresTypes=gpu'] : []),
    'SchedulerType=sched/backfill',
    'JobAcctGatherType=jobacct_gather/none',
    '',
    ...nodes.map((n) => [
      `NodeName=${n.name}`,
      ...(n.address ? [`NodeAddr=${n.address}`] : []),
      `CPUs=${n.cpus}`,
      `RealMemory=${n.realMemoryMiB}`,
      ...(n.gpus > 0 ? [`Gres=gpu:${n.gpuType}:${n.gpus}`] : []),
      'State=UNKNOWN',
    ].join(' ')),
    '',
    ...spec.partitions.map((p, i) =>
      `PartitionName=${p.name} Nodes=${p.nodes.map((n) => n.name).join(',')} Default=${i === 0 ? 'YES' : 'NO'} MaxTime=INFINITE State=UP`),
    '',
  ].join('\n');

  const gresConf = [
    '# Generated by cdktf-openstack-gpu: the GPUs of each node by device file (no NVML in the distribution packages).',
    ...nodes.filter((n) => n.gpus > 0).map((n) =>
      `NodeName=${n.name} Name=gpu Type=${n.gpuType} File=/dev/nvidia${n.gpus === 1 ? '0' : `[0-${n.gpus - 1}]`}`),
    '',
  ].join('\n');

  const cgroupConf = cgroups
    ? ['# Generated by cdktf-openstack-gpu: confine jobs to their cores, memory and GPUs.',
      'ConstrainCores=yes', 'ConstrainRAMSpace=yes', 'ConstrainDevices=yes', ''].join('\n')
    // Read only by cgroup plugins, which 21.08 on a cgroup v2 host does not use.
    : ['# Generated by cdktf-openstack-gpu: unused with Slurm < 22.05 (no cgroup v2 plugin; proctrack/linuxproc).', ''].join('\n');

  return { slurmConf, gresConf, cgroupConf };
}
