import { Token } from 'cdktf';
import { fail, MAX_GPUS_PER_FLAVOR, requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { NAMED_GPU_FLAVOR_OPTIONS } from '../core/validation-schemas';
import { GpuModel } from './gpu-model';

/** A flavor of a cloud that carries GPUs, as a cloud profile lists it. */
export interface GpuFlavorSpec {
  /** The flavor name in the cloud, e.g. `g1-2x2080.medium`. */
  readonly flavorName: string;
  /** The GPU model the flavor passes through. */
  readonly model: GpuModel;
  /** How many GPUs of `model` the flavor passes through. */
  readonly gpuCount: number;
}

/** Options of a flavor given by name. */
export interface NamedGpuFlavorOptions {
  /**
   * The GPU model the flavor carries; used for the driver choice and the readiness check.
   * @default - looked up in the cloud profile by flavor name; without a match the GPU model is not checked
   */
  readonly model?: GpuModel;
  /**
   * How many GPUs the flavor passes through; the readiness check expects exactly this many.
   * @default - looked up in the cloud profile by flavor name; a flavor the profile does not list needs it given
   */
  readonly gpuCount?: number;
}

/** A flavor with all its facts known, in the context of one cloud profile. */
export interface ResolvedGpuFlavor {
  /** The flavor's name in the cloud. */
  readonly flavorName: string;
  /**
   * The GPU model, when the profile or the flavor's options name it.
   * @default - unknown: the readiness check counts GPUs without checking their model
   */
  readonly model?: GpuModel;
  /** How many GPUs the flavor passes through to a server. */
  readonly gpuCount: number;
}

/** Where a flavor is resolved: the flavor catalog of a cloud. */
export interface IGpuFlavorCatalog {
  /** The catalog's name, used in messages. */
  readonly name: string;
  /** The GPU flavors the cloud offers. */
  readonly flavors: GpuFlavorSpec[];
}

/**
 * The flavor of a GPU node: by GPU model and count (resolved through the cloud profile),
 * or by flavor name.
 */
export class GpuFlavor {
  /** `count` GPUs of `model`; the cloud profile names the flavor. */
  public static of(model: GpuModel, count: number): GpuFlavor {
    if (!(model instanceof GpuModel)) fail('GpuFlavor.of', 'model', 'a GpuModel such as GpuModel.RTX_2080_TI', model, 'Pass a GpuModel constant or GpuModel.custom(...)');
    requireKnown('GpuFlavor.of', 'count', count, 'written into user_data for the readiness check and picks the flavor at synth');
    if (typeof count !== 'number') fail('GpuFlavor.of', 'count', 'a number of GPUs', count, 'Pass e.g. 1, 2 or 4');
    return new GpuFlavor(undefined, model, count);
  }

  /** A flavor by its name in the cloud. */
  public static named(flavorName: string, options: NamedGpuFlavorOptions = {}): GpuFlavor {
    checkProps('GpuFlavor.named', 'NamedGpuFlavorOptions', options, NAMED_GPU_FLAVOR_OPTIONS);
    requireKnown('GpuFlavor.named', 'gpuCount', options.gpuCount, 'written into user_data for the readiness check');
    if (typeof flavorName !== 'string') fail('GpuFlavor.named', 'flavorName', 'a string', flavorName, 'Pass the flavor name as `openstack flavor list` shows it');
    return new GpuFlavor(flavorName, options.model, options.gpuCount);
  }

  private constructor(
    private readonly flavorName: string | undefined,
    private readonly model: GpuModel | undefined,
    private readonly gpuCount: number | undefined,
  ) {}

  /**
   * The flavor name and GPUs, or an error that names `path` and lists what the catalog offers.
   * Users read the result as `GpuNode.flavor`.
   * @internal
   */
  public _resolve(path: string, catalog: IGpuFlavorCatalog): ResolvedGpuFlavor {
    if (this.flavorName === undefined) {
      return this.resolveByModel(path, catalog, this.model!, this.gpuCount!);
    }
    // A token (a variable) is looked up by Nova at plan; the preflight names it.
    if (!Token.isUnresolved(this.flavorName) && !/^[\w.\-:]{1,255}$/.test(this.flavorName)) {
      throw new Error(`${path}: flavor name must be 1-255 letters, digits, '.', '-', '_' or ':', got '${this.flavorName}'`);
    }
    const known = catalog.flavors.find((f) => f.flavorName === this.flavorName);
    // A catalogued flavor says what it carries; a contradiction would only show at boot, 10-30 minutes later.
    if (known && ((this.gpuCount !== undefined && this.gpuCount !== known.gpuCount) || (this.model && this.model.id !== known.model.id))) {
      throw new Error(`${path}: flavor '${this.flavorName}' carries ${known.gpuCount} x ${known.model.id} in cloud profile ` +
        `'${catalog.name}', got ${this.gpuCount ?? known.gpuCount} x ${this.model?.id ?? known.model.id}; leave out model and gpuCount ` +
        `or fix the profile with withFlavor()`);
    }
    // Never a silent 1: the readiness check would fail a node with more GPUs, or pass one with fewer.
    if (this.gpuCount === undefined && !known) {
      fail(path, 'gpuCount', `given for flavor '${this.flavorName}', which cloud profile '${catalog.name}' does not list`, undefined,
        `Use GpuFlavor.named('${this.flavorName}', { gpuCount: <GPUs it passes through> }), or add it to the profile with withFlavor()`);
    }
    const gpuCount = this.gpuCount ?? known!.gpuCount;
    if (!Number.isInteger(gpuCount) || gpuCount < 1 || gpuCount > MAX_GPUS_PER_FLAVOR) {
      throw new Error(`${path}: gpuCount of flavor '${this.flavorName}' must be a whole number from 1 to ${MAX_GPUS_PER_FLAVOR}, got ${gpuCount}`);
    }
    return { flavorName: this.flavorName, model: this.model ?? known?.model, gpuCount };
  }

  private resolveByModel(path: string, catalog: IGpuFlavorCatalog, model: GpuModel, count: number): ResolvedGpuFlavor {
    const offered = catalog.flavors.filter((f) => f.model.id === model.id);
    const match = offered.find((f) => f.gpuCount === count);
    if (match) {
      return { flavorName: match.flavorName, model, gpuCount: count };
    }
    if (offered.length === 0) {
      const models = [...new Set(catalog.flavors.map((f) => f.model.id))].join(', ') || 'none';
      throw new Error(`${path}: cloud profile '${catalog.name}' has no flavor with ${model.id} GPUs (it offers: ${models}); ` +
        'pick another model, add the flavor to the profile with withFlavor(), or use GpuFlavor.named()');
    }
    const counts = offered.map((f) => f.gpuCount).sort((a, b) => a - b);
    const listed = counts.length === 1 ? `${counts[0]}` : `${counts.slice(0, -1).join(', ')} or ${counts[counts.length - 1]}`;
    throw new Error(`${path}: gpuCount must be ${listed} for ${model.id} on cloud profile '${catalog.name}', got ${count}`);
  }
}
