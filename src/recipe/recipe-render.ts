// The cloud-config rendering of a recipe: write_files (the shipped scripts, recipe.env, the unit,
// the user's files), runcmd, and the sizes Nova sees.
import * as zlib from 'zlib';
import * as YAML from 'yaml';
import type { RecipeFile, RecipeSpec, RecipeRenderOptions, RecipeStep, RenderedUserData } from './recipe-options';
import { GPU_NODE_CONFIG_FILE, GPU_NODE_INSTALL_DIR, GPU_NODE_RECIPE_LOG, GPU_NODE_REQUIRED_VARS } from '../core/contract.generated';
import { CONTRACT_FILE, contractEntries } from '../core/node-contract';
import { burnComputeCapability } from '../cloud/gpu-software-matrix';
import { NODE_SCRIPTS_DIR, readNodeScript } from '../core/package-files';

// Where the shipped scripts go on the node.
const NODE_ROOT = GPU_NODE_INSTALL_DIR;
const CONFIG_PATH = GPU_NODE_CONFIG_FILE;
/**
 * The contract, its variable check, the runner and its library, on every node (below the package's
 * cloud-init/node/), each ahead of the files that source it.
 */
export const SHARED_FILES: readonly string[] = [CONTRACT_FILE.slice(NODE_SCRIPTS_DIR.length + 1), 'lib/gpu-node-vars.sh', 'lib/gpu-node-common.sh',
  'bin/gpu-node-run', 'bin/gpu-node-health'];
/**
 * The server metadata and an application credential's clouds.yaml, below the package's cloud-init/node/: only on
 * the nodes that read them (the idle shelve's step, every Slurm node), as every byte counts against Nova's limit.
 */
export const OPENSTACK_LIB = 'lib/gpu-node-openstack.sh';
// The unit that runs the steps at every boot (cloud-init runs `runcmd` only once per instance).
const UNIT_NAME = 'gpu-node.service';
/** The unit's file below the package's cloud-init/node/. */
export const UNIT_FILE = `systemd/${UNIT_NAME}`;
// The health check between boots (bin/gpu-node-health) and the timer that runs it every 5 minutes.
const HEALTH_TIMER = 'gpu-node-health.timer';
/** The health check's units below the package's cloud-init/node/. */
export const HEALTH_UNIT_FILES: readonly string[] = ['systemd/gpu-node-health.service', `systemd/${HEALTH_TIMER}`];
/** The idle shelve's units (bin/gpu-node-idle), only on a node with idleShelve; steps/idle-shelve.sh enables the timer. */
export const IDLE_UNIT_FILES: readonly string[] = ['systemd/gpu-node-idle.service', 'systemd/gpu-node-idle.timer'];
// Bytes kept free below Nova's limit for the difference between Node's and Go's gzip output.
const GZIP_SIZE_MARGIN = 1024;

/**
 * The `#cloud-config` text of `recipe` for a node running `steps` (with their tools and the extra `libraries`
 * below the package's cloud-init/node/), and its sizes.
 */
export function renderRecipeText(recipe: RecipeSpec, options: RecipeRenderOptions, steps: readonly RecipeStep[],
  libraries: readonly string[] = []): RenderedUserData {
  const loginUser = options.loginUser ?? 'ubuntu';
  const lifetime = options.lifetimeHours !== undefined && options.lifetimeHours > 0;
  const fabricManager = steps.some((s) => s.name === 'fabric-manager');

  // Exactly the contract's GPU_NODE_REQUIRED_VARS, in its order: the scripts refuse a recipe.env that lacks one.
  const values: { [name: string]: string | number } = {
    GPU_NODE_RECIPE_NAME: recipe.name,
    GPU_NODE_RECIPE_KEY: options.recipeKey ?? '',
    GPU_NODE_USER: loginUser,
    GPU_NODE_DRIVER_BRANCH: recipe.nvidiaDriver.branchNumber,
    GPU_NODE_DRIVER_FLAVOR: recipe.nvidiaDriver.modules,
    GPU_NODE_CUDA_VERSION: recipe.cuda?.versionString ?? '',
    GPU_NODE_CONTAINER_TOOLKIT_VERSION: recipe.containerToolkitVersion ?? '',
    // The readiness check's container smoke check and Fabric Manager check.
    GPU_NODE_CONTAINER_TOOLKIT: recipe.containerToolkit ? 1 : 0,
    GPU_NODE_FABRIC_MANAGER: fabricManager ? 1 : 0,
    GPU_NODE_PACKAGES: recipe.packages.join(' '),
    GPU_NODE_BURN_SECONDS: recipe.burnInSeconds,
    GPU_NODE_EXPECTED_GPUS: options.expectedGpus,
    GPU_NODE_EXPECTED_MODEL: options.expectedModel?.nvidiaSmiMatch ?? '',
    GPU_NODE_COMPUTE_CAPABILITY: burnComputeCapability(options.expectedModel),
    GPU_NODE_LIFETIME_HOURS: lifetime ? options.lifetimeHours! : 0,
    GPU_NODE_WARN_HOURS: options.lifetimeWarningHours ?? 24,
    // bin/gpu-node-idle; 0: the node never shelves itself.
    GPU_NODE_IDLE_SHELVE_HOURS: options.idleShelveHours ?? 0,
    // What gpu-node.service runs at every boot.
    GPU_NODE_STEPS: steps.map((s) => s.name).join(' '),
  };
  const env = recipeEnvEntries(values);
  const envText = `# Written by cdktf-openstack-gpu; read by ${NODE_ROOT}/lib/gpu-node-common.sh\n` +
    '# shellcheck disable=SC2034  # the variables are used by the scripts that source this file\n' +
    env.map(([k, v]) => `${k}=${shellQuote(String(v))}`).join('\n') + '\n';

  const tools = [...new Set([...libraries, ...steps.flatMap((s) => s.tools)])];
  const scriptFiles = [...SHARED_FILES, ...tools, ...steps.flatMap((s) => s.script ? [s.script] : [])];
  const files: RecipeFile[] = [
    ...scriptFiles.map((f) => ({
      path: `${NODE_ROOT}/${f}`,
      content: readNodeScript(f),
      permissions: f.startsWith('lib/') ? '0644' : '0755',
    })),
    ...(recipe.commands.length > 0 ? [{
      path: `${NODE_ROOT}/steps/user-commands.sh`,
      content: userCommandsScript(recipe.commands),
      permissions: '0755',
    }] : []),
    { path: CONFIG_PATH, content: envText, permissions: '0644' },
    ...[UNIT_FILE, ...HEALTH_UNIT_FILES, ...(steps.some((s) => s.name === 'idle-shelve') ? IDLE_UNIT_FILES : [])].map((f) => ({
      path: `/etc/systemd/system/${f.replace(/^systemd\//, '')}`, content: readNodeScript(f), permissions: '0644',
    })),
    ...recipe.files,
  ];

  // No package_update/packages: cloud-init's package module would run apt on every new instance
  // (a node booted from a baked image too) without waiting for the apt locks; the packages step does it once.
  const config: { [key: string]: unknown } = {};
  config.write_files = files.map((f) => {
    const entry: { [key: string]: unknown } = { path: f.path, permissions: normalizeMode(f.permissions ?? '0644') };
    if (f.owner && f.owner !== 'root:root') {
      entry.owner = f.owner;
      // Users such as `ubuntu` exist only after the users module, which runs after write_files.
      entry.defer = true;
    }
    entry.content = f.content;
    return entry;
  });
  // cloud-init only writes the files and starts the unit on the first boot; --no-block because
  // the unit runs after cloud-final.service, which is running this very command.
  config.runcmd = [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', '--no-block', UNIT_NAME, HEALTH_TIMER]];

  const header = `#cloud-config\n# GPU node recipe '${recipe.name}' (cdktf-openstack-gpu); progress: ${GPU_NODE_RECIPE_LOG}\n`;
  return sizes(header + YAML.stringify(config, { lineWidth: 0, blockQuote: 'literal' }));
}

/**
 * `values` as recipe.env entries in the contract's order; a name missing from either side throws,
 * so the renderer and GPU_NODE_REQUIRED_VARS cannot drift apart.
 */
export function recipeEnvEntries(values: { [name: string]: string | number }): [string, string | number][] {
  return contractEntries('recipe.env', 'GPU_NODE_REQUIRED_VARS', GPU_NODE_REQUIRED_VARS, values);
}

/**
 * Fails when the user_data does not fit Nova's limit (after gzip and base64), with a margin
 * for the few bytes by which Node's zlib and Terraform's Go gzip differ.
 */
export function checkUserDataSize(path: string, recipeName: string, rendered: RenderedUserData, limit: number): void {
  if (rendered.base64Bytes > limit - GZIP_SIZE_MARGIN) {
    throw new Error(`${path}: user_data of recipe '${recipeName}' is ${rendered.base64Bytes} bytes gzip-compressed and base64-encoded ` +
      `(plain: ${rendered.bytes}); Nova accepts at most ${limit}. Move large files ` +
      `into an image or download them in a command instead of embedding them`);
  }
}

function userCommandsScript(commands: string[]): string {
  return [
    '#!/usr/bin/env bash',
    '# The recipe\'s user commands, run by gpu-node-run.',
    'set -euo pipefail',
    '# shellcheck source=/dev/null # the library is checked on its own',
    '. "$(dirname "$0")/../lib/gpu-node-common.sh"',
    // What cloud-init's package_update did before the runner: commands often install packages,
    // and cloud images ship stale apt lists (the seal deletes them); once per run, lock-aware.
    'gpu_done apt-updated || gpu_apt_update',
    ...commands,
  ].join('\n') + '\n';
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function normalizeMode(mode: string): string {
  return mode.length === 3 ? `0${mode}` : mode;
}

function sizes(text: string): RenderedUserData {
  const gzipped = zlib.gzipSync(Buffer.from(text, 'utf8')).length;
  return { text, bytes: Buffer.byteLength(text, 'utf8'), base64Bytes: 4 * Math.ceil(gzipped / 3) };
}
