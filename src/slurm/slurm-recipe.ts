// What a SlurmCluster adds to each node's GpuRecipe: the rendered Slurm files, cluster.env, the
// node-side scripts of cloud-init/slurm/, and the one command that runs the head's or a worker's setup.
import { GpuRecipe } from '../recipe/gpu-recipe';
import { OPENSTACK_LIB } from '../recipe/recipe-render';
import { RecipeFile } from '../recipe/recipe-options';
import { readPackageFile } from '../core/package-files';
import { GPU_CLUSTER_ENV_FILE } from '../core/contract.generated';
import { CLUSTER_BIN_DIR, HEALTH_CHECK_SCRIPT, renderSlurmConfig, SlurmClusterModel } from './slurm-config';

export { CLUSTER_BIN_DIR };
/** Where cluster.env is read from (SLURM_CLUSTER_ENV's default in slurm-cluster-lib.sh). */
export const CLUSTER_ENV_PATH = GPU_CLUSTER_ENV_FILE;
// Each role gets only its scripts: every byte counts against Nova's 64 KiB user_data.
const HEAD_SCRIPTS = ['slurm-cluster-lib.sh', 'slurm-cluster-ready', 'slurm-head-setup'];
const POWER_SCRIPTS = ['slurm-suspend', 'slurm-resume'];
// The workers' HealthCheckProgram is the file slurm.conf names.
const WORKER_SCRIPTS = ['slurm-cluster-lib.sh', 'slurm-worker-setup', 'slurm-worker-gate', HEALTH_CHECK_SCRIPT];

export interface SlurmRecipeParts {
  /** For GpuRecipeProps.files. */
  readonly files: RecipeFile[];
  /** For GpuRecipeProps.commands. */
  readonly commands: string[];
}

/**
 * The recipe parts of the head (`nodeName` = the head's name) or of one worker. Workers get no Slurm
 * configuration at synth: they copy the head's, which also has the hardware they reported.
 */
export function slurmRecipeParts(model: SlurmClusterModel, nodeName: string): SlurmRecipeParts {
  const rendered = renderSlurmConfig(model);
  const isHead = nodeName === model.head.name;
  if (!isHead && !model.groups.some((g) => g.nodes.some((n) => n.name === nodeName))) {
    throw new Error(`SlurmCluster ${model.clusterName}: '${nodeName}' is neither the head nor a worker`);
  }
  const confDir = model.site?.confDir ?? '/etc/slurm';
  const files: RecipeFile[] = [
    ...(isHead ? [...HEAD_SCRIPTS, ...(model.powerSaving ? POWER_SCRIPTS : [])] : WORKER_SCRIPTS).map((s) => ({
      path: `${CLUSTER_BIN_DIR}/${s}`,
      content: readPackageFile(`cloud-init/slurm/${s}`),
      permissions: s.endsWith('.sh') ? '0644' : '0755',
    })),
    { path: '/etc/profile.d/gpu-cluster-torchrun.sh', content: readPackageFile('cloud-init/slurm/gpu-cluster-torchrun.sh'), permissions: '0644' },
    { path: CLUSTER_ENV_PATH, content: rendered.clusterEnv, permissions: '0644' },
    ...(isHead ? [
      { path: `${confDir}/slurm.conf`, content: rendered.slurmConf, permissions: '0644' },
      { path: `${confDir}/gres.conf`, content: rendered.gresConf, permissions: '0644' },
      { path: `${confDir}/cgroup.conf`, content: rendered.cgroupConf, permissions: '0644' },
      { path: `${confDir}/nodes.conf.in`, content: rendered.nodesConfTemplate, permissions: '0644' },
    ] : []),
  ];
  const commands = isHead
    ? [`${CLUSTER_BIN_DIR}/slurm-head-setup`]
    : [`SLURM_NODE_NAME=${nodeName} ${CLUSTER_BIN_DIR}/slurm-worker-setup`];
  return { files, commands };
}

/**
 * The recipe parts that every worker of the cluster shares: the same files, and a command that takes the
 * Slurm node name from the host name, which cloud-init sets from the server name (so one recipe, rendered
 * once, serves a whole worker group).
 */
export function slurmWorkerRecipeParts(model: SlurmClusterModel): SlurmRecipeParts {
  const first = model.groups[0]?.nodes[0];
  if (!first) throw new Error(`SlurmCluster ${model.clusterName}: a cluster needs at least one worker`);
  const parts = slurmRecipeParts(model, first.name);
  return { files: parts.files, commands: [`SLURM_NODE_NAME="$(hostname -s)" ${CLUSTER_BIN_DIR}/slurm-worker-setup`] };
}

/** The base recipe with the cluster's files and setup command added. */
export function withParts(base: GpuRecipe, name: string, parts: SlurmRecipeParts): GpuRecipe {
  return new GpuRecipe({
    name: name.length <= 63 ? name : name.slice(0, 63),
    nvidiaDriver: base.nvidiaDriver,
    cuda: base.cuda,
    installCuda: base.cuda !== undefined,
    containerToolkit: base.containerToolkit,
    containerToolkitVersion: base.containerToolkitVersion,
    burnInSeconds: base.burnInSeconds,
    packages: base.packages,
    files: [...base.files, ...parts.files],
    commands: [...base.commands, ...parts.commands],
  // slurm-cluster-lib.sh reads the server metadata (the nodes' addresses, the head's credential) with it.
  })._shipLibrary(OPENSTACK_LIB);
}
