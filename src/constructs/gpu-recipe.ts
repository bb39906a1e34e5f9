import { Token } from 'cdktf';
import { requireResolved } from '../private/names';
import { recipeContentKey } from '../private/recipe-key';
import { checkUserDataSize, renderRecipeText } from '../private/recipe-render';
import { checkKernelModules } from '../private/recipe-rules';
import { validateGpuRecipe } from '../private/validation-constructs';
import { checkEnum, fail, requireKnown } from '../private/validation';
import { GpuModel } from './gpu-model';

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

function step(name: string, tools: readonly string[] = [], keyed = true): RecipeStep {
  return Object.freeze({ name, script: `steps/${name}.sh`, tools: Object.freeze([...tools]), keyed });
}

/** Every step, by name; `_steps()` puts the ones a recipe uses in run order. */
const STEPS = {
  nvidiaDriver: step('nvidia-driver'),
  fabricManager: step('fabric-manager'),
  cudaToolkit: step('cuda-toolkit'),
  containerToolkit: step('container-toolkit'),
  packages: step('packages'),
  userCommands: Object.freeze({ name: 'user-commands', tools: Object.freeze([]), keyed: false }) as RecipeStep,
  burnIn: step('burn-in'),
  lifetime: step('lifetime', ['bin/gpu-node-lifetime']),
  // Per instance (its credential), so not part of the content key.
  idleShelve: step('idle-shelve', ['bin/gpu-node-idle'], false),
  readyCheck: step('ready-check', [], false),
  sealSnapshot: step('seal-snapshot'),
};


// name[:arch][=version]: apt-get takes an architecture-qualified name such as libc6:amd64 or zlib1g:i386=1:1.2.11.dfsg-2.
const PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9][a-z0-9-]*)?(=[A-Za-z0-9.+:~-]+)?$/;

/**
 * A cloud-init recipe for GPU nodes: NVIDIA driver and CUDA from NVIDIA's apt repository,
 * Docker with the NVIDIA container toolkit, an optional burn-in, user additions and a
 * readiness check that prints `GPU-NODE-READY` or `GPU-NODE-FAILED` to the console.
 * The scripts are the files in the package's `cloud-init/` folder.
 */
export class GpuRecipe {
  /** Nova's limit for user_data, in bytes after base64. */
  public static readonly NOVA_USER_DATA_LIMIT = 65535;

  /** The recipe's name, used in names and image properties. */
  public readonly name: string;
  /** The NVIDIA driver branch and kernel modules. */
  public readonly nvidiaDriver: NvidiaDriver;
  /** The CUDA toolkit; undefined for none. */
  public readonly cuda?: CudaToolkit;
  /** Whether the NVIDIA Container Toolkit is installed. */
  public readonly containerToolkit: boolean;
  /** The pinned container toolkit version; undefined for the newest. */
  public readonly containerToolkitVersion?: string;
  /** How long gpu-burn runs before the node reports ready; 0 for no burn-in. */
  public readonly burnInSeconds: number;
  /** Extra Ubuntu packages (a frozen array: a recipe does not change after its constructor). */
  public readonly packages: string[];
  /** Extra files written on the node (frozen, as are the files). */
  public readonly files: RecipeFile[];
  /** Extra commands run after the install, as root (a frozen array). */
  public readonly commands: string[];
  private readonly keys = new Map<string, string>();
  private readonly rendered = new Map<string, RenderedUserData>();

  constructor(props: GpuRecipeProps = {}) {
    const where = `GpuRecipe ${typeof props?.name === 'string' && !Token.isUnresolved(props.name) ? props.name : 'gpu-base'}`;
    validateGpuRecipe(where, props);
    // Everything below is rendered into user_data and hashed into the key at synth time.
    for (const [prop, value] of Object.entries({
      name: props.name, containerToolkitVersion: props.containerToolkitVersion, burnInSeconds: props.burnInSeconds,
      packages: props.packages, files: JSON.stringify(props.files ?? []), commands: props.commands,
    })) {
      requireResolved(where, prop, value);
      for (const item of Array.isArray(value) ? value : []) requireResolved(where, prop, item);
    }
    this.name = props.name ?? 'gpu-base';
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(this.name)) {
      throw new Error(`${where}: name must be 1-63 lower-case letters, digits, '.', '_' or '-', got '${this.name}'`);
    }
    this.nvidiaDriver = props.nvidiaDriver ?? NvidiaDriver.R580_OPEN;
    this.cuda = props.installCuda === false ? undefined : props.cuda ?? CudaToolkit.V13_0;
    this.containerToolkit = props.containerToolkit ?? true;
    this.containerToolkitVersion = props.containerToolkitVersion;
    if (this.containerToolkitVersion !== undefined && !/^\d+\.\d+\.\d+(-\d+)?$/.test(this.containerToolkitVersion)) {
      throw new Error(`${where}: containerToolkitVersion must look like '1.17.8-1', got '${this.containerToolkitVersion}'`);
    }
    this.burnInSeconds = props.burnInSeconds ?? 0;
    if (!Number.isInteger(this.burnInSeconds) || this.burnInSeconds < 0 || this.burnInSeconds > 86400) {
      throw new Error(`${where}: burnInSeconds must be a whole number from 0 to 86400, got ${this.burnInSeconds}`);
    }
    if (this.burnInSeconds > 0 && !this.cuda) {
      throw new Error(`${where}: burnInSeconds needs the CUDA toolkit to build gpu-burn, got burnInSeconds ${this.burnInSeconds} ` +
        'with installCuda false. Set installCuda: true (the default) or burnInSeconds: 0');
    }
    // Frozen copies: keys and rendered texts are computed once, so the recipe must not change afterwards
    // (neither through these arrays nor through the caller's). Typed string[], not readonly string[]:
    // jsii refuses ReadonlyArray in the public API (JSII3001); a push throws a TypeError instead.
    // The instance itself is not frozen: the jsii kernel tags the objects it hands to Python.
    this.packages = Object.freeze([...(props.packages ?? [])]) as string[];
    for (const p of this.packages) {
      if (!PACKAGE_PATTERN.test(p)) {
        throw new Error(`${where}: '${p}' is not an apt package name (optionally 'name:arch' and '=version'), e.g. 'htop' or 'python3-pip'`);
      }
    }
    this.files = Object.freeze((props.files ?? []).map((f) => Object.freeze({ ...f }))) as RecipeFile[];
    for (const f of this.files) {
      if (!f.path.startsWith('/') || f.path.split('/').includes('..')) {
        throw new Error(`${where}: file path must be absolute without '..' segments, got '${f.path}'`);
      }
      if (f.permissions !== undefined && !/^0?[0-7]{3,4}$/.test(f.permissions)) {
        throw new Error(`${where}: permissions of ${f.path} must be octal like '0644', got '${f.permissions}'`);
      }
      if (f.owner !== undefined && !/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/.test(f.owner)) {
        throw new Error(`${where}: owner of ${f.path} must look like 'ubuntu:ubuntu', got '${f.owner}'`);
      }
    }
    this.commands = Object.freeze([...(props.commands ?? [])]) as string[];
  }

  /**
   * The steps the runner executes, in order.
   * @internal
   */
  public _steps(options: RecipeStepOptions = {}): RecipeStep[] {
    return [
      STEPS.nvidiaDriver,
      ...(options.fabricManager ? [STEPS.fabricManager] : []),
      ...(this.cuda ? [STEPS.cudaToolkit] : []),
      ...(this.containerToolkit ? [STEPS.containerToolkit] : []),
      ...(this.packages.length > 0 ? [STEPS.packages] : []),
      ...(this.commands.length > 0 ? [STEPS.userCommands] : []),
      ...(this.burnInSeconds > 0 ? [STEPS.burnIn] : []),
      ...(options.lifetime ? [STEPS.lifetime] : []),
      // Before the ready line: READY means the node can also shelve itself.
      ...(options.idleShelve ? [STEPS.idleShelve] : []),
      STEPS.readyCheck,
      ...(options.seal ? [STEPS.sealSnapshot] : []),
    ];
  }

  /**
   * A stable content key of what this recipe installs on `baseImage`: the shipped scripts,
   * the pinned versions, packages, files and commands. Equal recipes give equal keys everywhere.
   * Users read it as `GpuNode.recipeKey` and `SnapshotImage.recipeKey`.
   * @internal
   */
  public _key(baseImage: string): string {
    const known = this.keys.get(baseImage);
    if (known) return known;
    // The install steps, and the seal step that shapes every baked image; not the per-boot checks.
    // The node's markers record this key: an image baked from another recipe never skips new work.
    const key = recipeContentKey(this, baseImage, this._steps({ seal: true, fabricManager: true }));
    this.keys.set(baseImage, key);
    return key;
  }

  /**
   * The recipe's facts as image properties and for the status file.
   * @internal
   */
  public _describe(): { [key: string]: string } {
    return {
      gpu_node_recipe_name: this.name,
      gpu_node_driver: this.nvidiaDriver.toString(),
      gpu_node_cuda: this.cuda?.versionString ?? 'none',
      gpu_node_container_toolkit: this.containerToolkit ? this.containerToolkitVersion ?? 'latest' : 'none',
    };
  }

  /**
   * The `#cloud-config` user_data for a node. Compresses the files when the plain form
   * exceeds Nova's 65,535 bytes after base64, and fails when even that does not fit.
   * Users read the result as `GpuNode.userData`.
   * @internal
   */
  public _render(options: RecipeRenderOptions): RenderedUserData {
    const path = options.path ?? 'GpuRecipe';
    // The nodes of a fleet render the same text: once per distinct set of options (the path only names errors).
    const memoKey = JSON.stringify({ ...options, path: undefined, expectedModel: options.expectedModel && [options.expectedModel.id, options.expectedModel.nvidiaSmiMatch, options.expectedModel.nvSwitch] });
    const known = this.rendered.get(memoKey);
    if (known) return known;
    checkKernelModules(path, this.nvidiaDriver, options.expectedModel);
    // NVSwitch boards need Fabric Manager in the guest when more than one of their GPUs is passed through.
    const fabricManager = options.expectedModel?.nvSwitch === true && options.expectedGpus > 1;
    const lifetime = options.lifetimeHours !== undefined && options.lifetimeHours > 0;
    const idleShelve = (options.idleShelveHours ?? 0) > 0;
    if (idleShelve && options.sealForSnapshot) {
      // The seal would bake the node's credential (clouds.yaml) into the image.
      throw new Error(`${path}: idleShelve and sealForSnapshot exclude each other (the image would carry the node's credential), ` +
        'got both; leave idleShelve off the builder and turn it on for the nodes booted from the image');
    }
    const steps = this._steps({ lifetime, seal: options.sealForSnapshot, fabricManager, idleShelve });
    const rendered = renderRecipeText(this, options, steps);
    checkUserDataSize(path, this.name, rendered, GpuRecipe.NOVA_USER_DATA_LIMIT);
    this.rendered.set(memoKey, rendered);
    return rendered;
  }
}
