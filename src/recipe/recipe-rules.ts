// The driver and GPU rules of a recipe: which kernel modules a GPU model takes, and which
// driver/CUDA/Ubuntu/GPU combinations NVIDIA can install (data in gpu-software-matrix.ts).
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import type { GpuModel } from '../cloud/gpu-model';
import { KernelModules } from './recipe-options';
import type { NvidiaDriver, RecipeSpec } from './recipe-options';
import { ARCHITECTURE_SUPPORT, CUDA_BY_UBUNTU, CUDA_MIN_DRIVER_BRANCH, DRIVER_BRANCHES } from '../cloud/gpu-software-matrix';
import { bashAvailable } from './recipe-validation';
import { fail } from '../core/validation';

/**
 * Open vs proprietary kernel modules for the GPU model the node expects: pre-Turing GPUs need the
 * proprietary ones, Blackwell only works with the open ones, and open modules before 545 refuse
 * GPUs that are not data center GPUs. Throws with the driver to use instead.
 */
export function checkKernelModules(path: string, driver: NvidiaDriver, model: GpuModel | undefined): void {
  if (model && driver.modules === KernelModules.OPEN && !model.supportsOpenKernelModules) {
    throw new Error(`${path}: ${model.id} (${model.architecture}) needs the proprietary kernel modules, but the recipe uses ` +
      `${driver}; use NvidiaDriver.branch(${driver.branchNumber}, KernelModules.PROPRIETARY)`);
  }
  if (model && driver.modules === KernelModules.OPEN && !model.dataCenter && driver.branchNumber < 545) {
    throw new Error(`${path}: ${model.id} is not a data center GPU, and open kernel modules before 545 refuse it, but the ` +
      `recipe uses ${driver}; use NvidiaDriver.R580_OPEN or KernelModules.PROPRIETARY`);
  }
  if (model && driver.modules === KernelModules.PROPRIETARY && model.requiresOpenKernelModules) {
    throw new Error(`${path}: ${model.id} (${model.architecture}) works only with the open kernel modules, but the recipe uses ` +
      `${driver}; use NvidiaDriver.branch(${driver.branchNumber}, KernelModules.OPEN)`);
  }
}

/**
 * The driver/CUDA/Ubuntu/GPU combination against the matrix (gpu-software-matrix.ts): what NVIDIA
 * cannot install or drive fails at synth, not 20 minutes into a boot. `release` is undefined for
 * images of unknown release (a warning: the CUDA repository is then not checked).
 */
export function checkSoftware(scope: Construct, recipe: RecipeSpec, model: GpuModel | undefined, release: string | undefined): void {
  const path = scope.node.path;
  const branch = recipe.nvidiaDriver.branchNumber;
  const newest = DRIVER_BRANCHES[DRIVER_BRANCHES.length - 1];
  if (branch > newest) {
    Annotations.of(scope).addWarning(`${path}: driver branch ${branch} is newer than the newest this library knows (${newest}); ` +
      'it is used as given, without the CUDA and GPU checks for it');
  } else if (!DRIVER_BRANCHES.includes(branch)) {
    fail(path, 'recipe.nvidiaDriver', `a released driver branch (${DRIVER_BRANCHES.filter((b) => b >= 525).join(', ')}, ...)`, branch,
      `NVIDIA has no branch ${branch}; use e.g. NvidiaDriver.R580_OPEN`);
  }
  if (recipe.commands.length > 0 && !bashAvailable()) {
    Annotations.of(scope).addWarning(`${path}: the recipe's commands were not checked with 'bash -n', as bash is not on this machine; ` +
      'a syntax error shows only on the node');
  }
  const cuda = recipe.cuda?.versionString;
  if (cuda !== undefined) {
    const minBranch = CUDA_MIN_DRIVER_BRANCH[cuda];
    const known = Object.keys(CUDA_MIN_DRIVER_BRANCH);
    if (minBranch === undefined) {
      if (Number(cuda) > Number(known[known.length - 1])) {
        Annotations.of(scope).addWarning(`${path}: CUDA ${cuda} is newer than the newest this library knows (${known[known.length - 1]}); ` +
          'its driver and Ubuntu requirements are not checked');
      } else {
        fail(path, 'recipe.cuda', `a CUDA version NVIDIA publishes (${known.join(', ')})`, cuda, 'Pick one of those, e.g. CudaToolkit.V12_8');
      }
    } else if (branch <= newest && branch < minBranch) {
      fail(path, 'recipe.nvidiaDriver', `driver branch ${minBranch} or newer for CUDA ${cuda} (CUDA release notes, Table 3)`, branch,
        `Use NvidiaDriver.branch(${minBranch}) or newer, or an older CUDA`);
    }
    if (minBranch !== undefined && release !== undefined && CUDA_BY_UBUNTU[release] && !CUDA_BY_UBUNTU[release].includes(cuda)) {
      fail(path, 'recipe.cuda', `a CUDA version NVIDIA's repository has for Ubuntu ${release} (${CUDA_BY_UBUNTU[release].join(', ')})`, cuda,
        `Pick one of those, or boot another Ubuntu release`);
    }
    if (release === undefined) {
      Annotations.of(scope).addWarning(`${path}: the image's Ubuntu release is unknown (an image by id, or a name without 22.04/24.04), ` +
        `so whether NVIDIA's repository has CUDA ${cuda} for it is first seen on the node; use NodeImage.ubuntu() to have it checked`);
    }
  }
  if (model) {
    const support = ARCHITECTURE_SUPPORT[model.architecture];
    if (support && branch <= newest && branch < support.minBranch) {
      fail(path, 'recipe.nvidiaDriver', `driver branch ${support.minBranch} or newer for ${model.id} (${model.architecture})`, branch,
        `Use NvidiaDriver.branch(${Math.max(support.minBranch, 570)}) or newer`);
    }
    const cudaMajor = cuda === undefined ? undefined : Number(cuda.split('.')[0]);
    if (support?.lastCudaMajor !== undefined && cudaMajor !== undefined && cudaMajor > support.lastCudaMajor) {
      const last = Object.keys(CUDA_MIN_DRIVER_BRANCH).filter((v) => Number(v.split('.')[0]) === support.lastCudaMajor).pop();
      fail(path, 'recipe.cuda', `CUDA ${support.lastCudaMajor}.x for ${model.id} (${model.architecture}): CUDA ${support.lastCudaMajor}.x is the last that supports ` +
        `${model.architecture} (NVIDIA's CUDA toolkit, driver and architecture matrix), and gpu-burn or code built for it would not compile`, cuda,
      `Use CudaToolkit.version('${last}')`);
    }
    if (support?.maxBranch !== undefined && branch > support.maxBranch) {
      fail(path, 'recipe.nvidiaDriver', `driver branch ${support.maxBranch} or older for ${model.id} (${model.architecture}; NVIDIA ended its support after ${support.maxBranch})`,
        branch, `Use NvidiaDriver.branch(${support.maxBranch}, KernelModules.PROPRIETARY)`);
    }
  }
}
