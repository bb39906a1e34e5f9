import { Token } from 'cdktf';
import { requireResolved } from '../core/names';
import { GPU_NODE_PACKAGE_PATTERN } from '../core/contract.generated';
import { imagePropertyKey } from '../core/node-contract';
import { recipeContentKey } from './recipe-key';
import { checkUserDataSize, OPENSTACK_LIB, renderRecipeText } from './recipe-render';
import { checkKernelModules } from './recipe-rules';
import { validateGpuRecipe } from './recipe-validation';
import { NvidiaDriver, CudaToolkit, RecipeFile, GpuRecipeProps, RecipeStepOptions, RecipeRenderOptions, RenderedUserData, RecipeStep } from './recipe-options';

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
  idleShelve: step('idle-shelve', ['bin/gpu-node-idle', OPENSTACK_LIB], false),
  readyCheck: step('ready-check', [], false),
  sealSnapshot: step('seal-snapshot'),
};


// name[:arch][=version]: apt-get takes an architecture-qualified name such as libc6:amd64 or zlib1g:i386=1:1.2.11.dfsg-2.
// The contract's pattern, which steps/packages.sh checks again on the node.
const PACKAGE_PATTERN = new RegExp(`^(?:${GPU_NODE_PACKAGE_PATTERN})$`);

/**
 * A cloud-init recipe for GPU nodes: NVIDIA driver and CUDA from NVIDIA's apt repository,
 * Docker with the NVIDIA container toolkit, an optional burn-in, user additions and a
 * readiness check that prints `GPU-NODE-READY` or `GPU-NODE-FAILED` to the console.
 * The scripts are the files in the package's `cloud-init/node/` folder.
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
  // Libraries below the package's cloud-init/node/ that the recipe's own files source (_shipLibrary).
  private readonly libraries: string[] = [];

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
   * Ships `file` (below the package's cloud-init/node/, e.g. `lib/gpu-node-openstack.sh`) with the node's
   * scripts, for files of this recipe that source it (a SlurmCluster's scripts). Before any render.
   * @internal
   */
  public _shipLibrary(file: string): this {
    if (!this.libraries.includes(file)) this.libraries.push(file);
    this.keys.clear();
    this.rendered.clear();
    return this;
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
    const key = recipeContentKey(this, baseImage, this._steps({ seal: true, fabricManager: true }), this.libraries);
    this.keys.set(baseImage, key);
    return key;
  }

  /**
   * The recipe's facts as image properties and for the status file.
   * @internal
   */
  public _describe(): { [key: string]: string } {
    return {
      [imagePropertyKey('recipe_name')]: this.name,
      [imagePropertyKey('driver')]: this.nvidiaDriver.toString(),
      [imagePropertyKey('cuda')]: this.cuda?.versionString ?? 'none',
      [imagePropertyKey('container_toolkit')]: this.containerToolkit ? this.containerToolkitVersion ?? 'latest' : 'none',
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
    const rendered = renderRecipeText(this, { ...options, recipeKey: options.recipeKey ?? this._key('') }, steps, this.libraries);
    checkUserDataSize(path, this.name, rendered, GpuRecipe.NOVA_USER_DATA_LIMIT);
    this.rendered.set(memoKey, rendered);
    return rendered;
  }
}
