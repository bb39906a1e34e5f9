// The recipe's value types, options and plain data: what the renderer, the content key and the rules
// read (RecipeSpec), below the GpuRecipe class so that they never import it.
import type { GpuModel } from '../cloud/gpu-model';
import { checkEnum, fail, requireKnown } from '../core/validation';

/** Which NVIDIA kernel modules to install. */
export enum KernelModules {
  /** The open kernel modules (Turing and newer; the only choice for Blackwell). */
  OPEN = 'open',
  /** The proprietary kernel modules (Maxwell, Pascal, Volta, and Turing to Hopper). */
  PROPRIETARY = 'proprietary',
}

/** The first driver branch with open kernel modules. */
const OPEN_MODULES_FROM = 515;

/** A pinned NVIDIA driver branch from NVIDIA's apt repository. */
export class NvidiaDriver {
  /** Branch 535 (LTS), open kernel modules. */
  public static readonly R535_OPEN = NvidiaDriver.branch(535, KernelModules.OPEN);
  /** Branch 550, open kernel modules. */
  public static readonly R550_OPEN = NvidiaDriver.branch(550, KernelModules.OPEN);
  /** Branch 570, open kernel modules (the default before issue 20; NVIDIA's data center tables no longer list R570). */
  public static readonly R570_OPEN = NvidiaDriver.branch(570, KernelModules.OPEN);
  /** Branch 570, proprietary kernel modules (for GPUs before Turing). */
  public static readonly R570_PROPRIETARY = NvidiaDriver.branch(570, KernelModules.PROPRIETARY);
  /** Branch 580 (long-term support to 2028-06), open kernel modules (the default). */
  public static readonly R580_OPEN = NvidiaDriver.branch(580, KernelModules.OPEN);

  /** A driver branch, e.g. `NvidiaDriver.branch(570, KernelModules.OPEN)`. */
  public static branch(branch: number, modules: KernelModules = KernelModules.OPEN): NvidiaDriver {
    requireKnown('NvidiaDriver.branch', 'branch', branch, 'the driver package (nvidia-driver-<branch>) written into user_data at synth');
    if (!Number.isInteger(branch) || branch < 450 || branch > 999) {
      throw new Error(`NvidiaDriver: branch must be a driver branch such as 535, 550, 570 or 580, got ${branch}`);
    }
    // Fail closed: 'closed' or 'OPEN' from plain JavaScript or a JSON config would reach the node as a package name.
    checkEnum('NvidiaDriver.branch', 'modules', modules, KernelModules, 'KernelModules');
    if (modules === KernelModules.OPEN && branch < OPEN_MODULES_FROM) {
      // "The first release of the open GPU kernel modules is R515" (developer.nvidia.com/blog/nvidia-releases-open-source-gpu-kernel-modules).
      fail('NvidiaDriver.branch', 'modules', `KernelModules.PROPRIETARY for branch ${branch} (NVIDIA publishes open kernel modules from branch ${OPEN_MODULES_FROM} on)`,
        modules, `Use NvidiaDriver.branch(${branch}, KernelModules.PROPRIETARY), or branch ${OPEN_MODULES_FROM} or newer`);
    }
    return new NvidiaDriver(branch, modules);
  }

  private constructor(
    /** The driver branch, e.g. 570 (package `nvidia-driver-570-open`). */
    public readonly branchNumber: number,
    /** The kernel modules: open or proprietary. */
    public readonly modules: KernelModules,
  ) {}

  /** The branch and modules as the image properties write them, e.g. `570-open`. */
  public toString(): string {
    return `${this.branchNumber}-${this.modules}`;
  }
}

/** A pinned CUDA toolkit version from NVIDIA's apt repository. */
export class CudaToolkit {
  /** CUDA 12.4 (driver 550 or newer). */
  public static readonly V12_4 = CudaToolkit.version('12.4');
  /** CUDA 12.6 (driver 560 or newer). */
  public static readonly V12_6 = CudaToolkit.version('12.6');
  /** CUDA 12.8 (driver 570 or newer; the first with Blackwell). */
  public static readonly V12_8 = CudaToolkit.version('12.8');
  /** CUDA 13.0 (driver 580 or newer; Turing and newer only, the default). */
  public static readonly V13_0 = CudaToolkit.version('13.0');

  /** A CUDA version as `major.minor`, e.g. `12.8` (package `cuda-toolkit-12-8`). */
  public static version(version: string): CudaToolkit {
    if (!/^\d{2}\.\d{1,2}$/.test(version)) {
      throw new Error(`CudaToolkit: version must look like '12.8', got '${version}'`);
    }
    return new CudaToolkit(version);
  }

  private constructor(
    /** The version as `major.minor`, e.g. `12.8`. */
    public readonly versionString: string,
  ) {}

  /** The version as `major.minor`. */
  public toString(): string {
    return this.versionString;
  }
}

/** A file that the recipe writes on the node. */
export interface RecipeFile {
  /** Absolute path on the node. */
  readonly path: string;
  /** The file's content, as text. */
  readonly content: string;
  /**
   * Octal mode.
   * @default '0644'
   */
  readonly permissions?: string;
  /**
   * Owner as `user:group`; files of the login user are written after the user exists.
   * @default 'root:root'
   */
  readonly owner?: string;
}

/** Properties of a `GpuRecipe`. */
export interface GpuRecipeProps {
  /**
   * A name for the recipe, shown in the console lines, image properties and logs.
   * @default 'gpu-base'
   */
  readonly name?: string;
  /**
   * The NVIDIA driver branch and kernel modules.
   * @default NvidiaDriver.R580_OPEN
   */
  readonly nvidiaDriver?: NvidiaDriver;
  /**
   * The CUDA toolkit to install; `undefined` with `installCuda: false` skips it.
   * @default CudaToolkit.V13_0
   */
  readonly cuda?: CudaToolkit;
  /**
   * Install the CUDA toolkit.
   * @default true
   */
  readonly installCuda?: boolean;
  /**
   * Install Docker and the NVIDIA container toolkit.
   * @default true
   */
  readonly containerToolkit?: boolean;
  /**
   * Pin the NVIDIA container toolkit, e.g. `1.17.8-1`.
   * @default - the newest in NVIDIA's repository
   */
  readonly containerToolkitVersion?: string;
  /**
   * Run gpu-burn for this many seconds after the install; the log goes to the login user's home.
   * @default 0 (no burn-in)
   */
  readonly burnInSeconds?: number;
  /**
   * Extra Ubuntu packages, optionally pinned as `name=version` (a pinned one is also `apt-mark hold`).
   * The `packages` step installs them once, after the NVIDIA steps; a node booted from a baked
   * image of this recipe has them already and installs nothing.
   * @default - none
   */
  readonly packages?: string[];
  /**
   * Extra files.
   * @default - none
   */
  readonly files?: RecipeFile[];
  /**
   * Shell commands run (as root, with bash, stopping at the first failure) after the installs
   * and before the readiness check, with fresh apt lists (so they may `apt-get install`). They run once: on a node booted from the base image at its
   * first boot (and at later boots only until they succeed), and for a baked recipe once per
   * image, in the bake, not on the nodes booted from it. Put what must happen on each node (its
   * hostname, its data volume) in your own systemd unit instead.
   * @default - none
   */
  readonly commands?: string[];
}

/**
 * Which node-specific steps to include.
 * @internal
 */
export interface RecipeStepOptions {
  /**
   * The lifetime notice step.
   * @default false
   */
  readonly lifetime?: boolean;
  /**
   * The seal-for-snapshot step.
   * @default false
   */
  readonly seal?: boolean;
  /**
   * The NVIDIA Fabric Manager step (NVSwitch systems).
   * @default false
   */
  readonly fabricManager?: boolean;
  /**
   * The idle-shelve step (GpuNode idleShelve): the OpenStack CLI, the credential's clouds.yaml, the idle timer.
   * @default false
   */
  readonly idleShelve?: boolean;
}

/**
 * What a node tells the recipe when it renders its user_data.
 * @internal
 */
export interface RecipeRenderOptions {
  /** How many GPUs the readiness check expects. */
  readonly expectedGpus: number;
  /**
   * The GPU model the readiness check expects.
   * @default - not checked
   */
  readonly expectedModel?: GpuModel;
  /**
   * The login user (home of the burn-in log, docker group).
   * @default 'ubuntu'
   */
  readonly loginUser?: string;
  /**
   * Hours until the cloud shelves the node; shown at login, with warnings before.
   * @default - no lifetime notice
   */
  readonly lifetimeHours?: number;
  /**
   * Start warning logged-in users this many hours before the shelve time.
   * @default 24
   */
  readonly lifetimeWarningHours?: number;
  /**
   * Seal the node for a snapshot after it is ready (cloud-init clean, host keys, machine-id) and power it off.
   * @default false
   */
  readonly sealForSnapshot?: boolean;
  /**
   * Shelve the node after this many idle hours (GpuNode idleShelve); 0 for never.
   * @default 0
   */
  readonly idleShelveHours?: number;
  /**
   * The content key recorded on the node.
   * @default - the recipe's key without a base image
   */
  readonly recipeKey?: string;
  /**
   * The construct path for errors.
   * @default 'GpuRecipe'
   */
  readonly path?: string;
}

/** The rendered user_data and its sizes. */
export interface RenderedUserData {
  /** The cloud-config text (what cloud-init reads after it gunzips the user data). */
  readonly text: string;
  /** Bytes of `text`. */
  readonly bytes: number;
  /**
   * Bytes Nova receives: the text gzip-compressed and base64-encoded, as the server's
   * `base64gzip()` user_data argument sends it. Nova limits this to 65,535.
   */
  readonly base64Bytes: number;
}

/**
 * A step of the runner (`bin/gpu-node-run`) and the shipped files it needs, below the package's
 * `cloud-init/` folder: the one mapping from steps to scripts, used for the step list, the
 * files written on the node and the content key.
 * @internal
 */
export interface RecipeStep {
  /** The step's name, as in `GPU_NODE_STEPS`. */
  readonly name: string;
  /** Its script, `steps/<name>.sh`; undefined for `user-commands`, which is rendered from `commands`. */
  readonly script?: string;
  /** Tools in `bin/` the step installs for later use (written before the step scripts). */
  readonly tools: readonly string[];
  /**
   * Whether the script is part of the content key: the install steps and the seal shape a baked
   * image; the per-boot readiness check does not.
   */
  readonly keyed: boolean;
}

/**
 * What the renderer, the content key and the software rules read of a recipe: plain data, so that
 * they take a spec rather than the GpuRecipe class (which uses them).
 * @internal
 */
export interface RecipeSpec {
  readonly name: string;
  readonly nvidiaDriver: NvidiaDriver;
  readonly cuda?: CudaToolkit;
  readonly containerToolkit: boolean;
  readonly containerToolkitVersion?: string;
  readonly burnInSeconds: number;
  readonly packages: string[];
  readonly files: RecipeFile[];
  readonly commands: string[];
}
