import { createHash } from 'crypto';
import { Fn, Op, Token } from 'cdktf';
import { Construct } from 'constructs';
import { dataOpenstackImagesImageV2 } from '../../.gen/providers/openstack';
import { lookupBakedImages } from './baked-images';
import { UBUNTU_REPOS, ubuntuReleaseOfName } from '../cloud/gpu-software-matrix';
import { sharedChild, stackShared } from '../core/stack-shared';
import { checkProps } from '../core/validation-props';
import { RECIPE_IMAGE_OPTIONS } from '../core/validation-schemas';
import { checkEnum, tfLiteral } from '../core/validation';
import { CloudProfile, UbuntuRelease } from '../cloud/cloud-profile';
import { GpuRecipe } from '../recipe/gpu-recipe';

/** An image bound into a node: the id to boot and what it is. */
export interface NodeImageConfig {
  /** The image id to boot (often a token of a lookup). */
  readonly imageId: string;
  /** A stable description of the base image, for recipe keys: `name:<name>` or `id:<id>`. */
  readonly baseImageKey: string;
  /**
   * The recipe key the image was baked with, when it comes from `NodeImage.fromRecipe()`.
   * @default - none
   */
  readonly recipeKey?: string;
  /**
   * The image's Ubuntu release, where known, for the CUDA repository check.
   * @default - unknown (an image by id, or a name that names no release): a warning at synth
   */
  readonly ubuntuRelease?: UbuntuRelease;
  /**
   * The image's `min_disk` in GiB (often a token of the lookup), for the root volume check at plan.
   * @default - unknown: not checked (images by id, baked snapshots)
   */
  readonly minDiskGiB?: number;
}

/**
 * An image that GPU nodes boot from; implement it for an image source of your own.
 *
 * `bind` stays public API on purpose, as `getImage(scope)` does on aws-ec2's `IMachineImage`:
 * an implementation in another jsii language (Python) can only provide members that are in the
 * assembly, and an `@internal` member is not. The content key's base image description is part of
 * what `bind` returns (`NodeImageConfig.baseImageKey`), so the interface needs nothing else.
 */
export interface INodeImage {
  /** Creates the lookups the image needs inside `scope` and returns what to boot. */
  bind(scope: Construct, profile: CloudProfile): NodeImageConfig;
}

/** Who may see an image. */
export enum ImageVisibility {
  /** Only the project that owns it. */
  PRIVATE = 'private',
  /** The owner and the projects it is shared with. */
  SHARED = 'shared',
  /** Every project, not listed by default. */
  COMMUNITY = 'community',
  /** Every project (usually needs an admin). */
  PUBLIC = 'public',
}

/** Options for `NodeImage.fromRecipe()`. */
export interface RecipeImageOptions {
  /**
   * The image the recipe was (or will be) baked on; booted while no snapshot exists,
   * when the same recipe then installs everything on first boot.
   */
  readonly baseImage: INodeImage;
  /**
   * Also require this visibility of baked images.
   * @default - any visibility the project can see
   */
  readonly visibility?: ImageVisibility;
}

/** Images for GPU nodes: by name, by id, a cloud's Ubuntu image, or the newest snapshot of a recipe. */
export abstract class NodeImage implements INodeImage {
  /** The newest image with this exact name (looked up at plan time). */
  public static fromName(imageName: string): INodeImage {
    return new NamedImage(imageName);
  }

  /** An image by id. */
  public static fromId(imageId: string): INodeImage {
    return new ImageById(imageId);
  }

  /** The cloud profile's image of an Ubuntu release. */
  public static ubuntu(release: UbuntuRelease = UbuntuRelease.JAMMY_22_04): INodeImage {
    return new UbuntuImage(checkEnum('NodeImage.ubuntu', 'release', release, UbuntuRelease, 'UbuntuRelease'));
  }

  /**
   * The newest image baked from `recipe` on `baseImage` (found by its `gpu-node-recipe-<key>`
   * tag); while none exists, `baseImage` itself, where the recipe installs everything on first boot.
   */
  public static fromRecipe(recipe: GpuRecipe, options: RecipeImageOptions): INodeImage {
    checkProps('NodeImage.fromRecipe', 'RecipeImageOptions', options, RECIPE_IMAGE_OPTIONS);
    return new RecipeImage(recipe, options);
  }

  /** Creates the lookups the image needs inside `scope` and returns what to boot. */
  public abstract bind(scope: Construct, profile: CloudProfile): NodeImageConfig;
}

class NamedImage extends NodeImage {
  constructor(private readonly imageName: string) {
    super();
    if (typeof imageName !== 'string' || (!Token.isUnresolved(imageName) && (imageName.trim() === '' || imageName.length > 255 || /[\u0000-\u001f\u007f]/.test(imageName)))) {
      throw new Error(`NodeImage.fromName: the image name must be 1-255 characters, got '${imageName}'`);
    }
  }

  public bind(scope: Construct): NodeImageConfig {
    return { ...lookupByName(scope, this.imageName, this.baseImageKey()), ubuntuRelease: releaseOfName(scope.node.path, this.imageName) };
  }

  private baseImageKey(): string {
    return `name:${this.imageName}`;
  }
}

class ImageById extends NodeImage {
  constructor(private readonly imageId: string) {
    super();
    if (typeof imageId !== 'string' || !Token.isUnresolved(imageId) && !/^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$/.test(imageId)) {
      throw new Error(`NodeImage.fromId: '${imageId}' is not an image UUID; use NodeImage.fromName() for names`);
    }
  }

  public bind(): NodeImageConfig {
    return { imageId: this.imageId, baseImageKey: this.baseImageKey() };
  }

  private baseImageKey(): string {
    return `id:${this.imageId}`;
  }
}

class UbuntuImage extends NodeImage {
  constructor(private readonly release: UbuntuRelease) {
    super();
  }

  public bind(scope: Construct, profile: CloudProfile): NodeImageConfig {
    const name = profile.ubuntuImageName(scope.node.path, this.release);
    return { ...lookupByName(scope, name, `name:${name}`), ubuntuRelease: this.release };
  }
}

class RecipeImage extends NodeImage {
  constructor(private readonly recipe: GpuRecipe, private readonly options: RecipeImageOptions) {
    super();
  }

  public bind(scope: Construct, profile: CloudProfile): NodeImageConfig {
    const base = this.options.baseImage.bind(scope, profile);
    const baseImageKey = base.baseImageKey;
    const recipeKey = this.recipe._key(baseImageKey);
    const visibility = this.options.visibility;
    const baked = sharedChild(stackShared(scope, 'NodeImages'), `Baked-${recipeKey}${visibility ? `-${visibility}` : ''}`,
      (parent, id) => lookupBakedImages(parent, id, recipeKey, visibility));
    // The newest baked image, else the base image (the same recipe then installs on first boot).
    const imageId = Fn.conditional(Op.gte(Fn.lengthOf(baked.ids), 1), Fn.element(baked.ids, 0), base.imageId) as string;
    // No minDiskGiB: a snapshot's min_disk is its builder's disk, which the lookup does not know here.
    return { imageId, baseImageKey, recipeKey, ubuntuRelease: base.ubuntuRelease };
  }
}

/** The Ubuntu release a cloud image's name says, e.g. 'Ubuntu 24.04 - Noble Numbat'; undefined when it says none. */
function releaseOfName(path: string, name: string): UbuntuRelease | undefined {
  if (Token.isUnresolved(name)) return undefined;
  const release = ubuntuReleaseOfName(name);
  const repo = UBUNTU_REPOS.find((u) => u.release === release);
  if (repo?.unsupported) {
    throw new Error(`${path}: the image '${name}' is Ubuntu ${release}: ${repo.unsupported}; ` +
      'boot an Ubuntu 24.04 image, e.g. NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04)');
  }
  return Object.values(UbuntuRelease).find((r) => r === release);
}

const imageRefs = new WeakMap<dataOpenstackImagesImageV2.DataOpenstackImagesImageV2, { imageId: string; minDiskGiB: number }>();

/** One lookup per image name and stack, however many nodes boot it. */
function lookupByName(scope: Construct, imageName: string, baseImageKey: string): NodeImageConfig {
  const id = Token.isUnresolved(imageName) ? `ByName-${scope.node.addr}`
    : `ByName-${createHash('sha256').update(imageName).digest('hex').slice(0, 12)}`;
  const data = sharedChild(stackShared(scope, 'NodeImages'), id,
    (parent, childId) => new dataOpenstackImagesImageV2.DataOpenstackImagesImageV2(parent, childId, { name: tfLiteral(imageName), mostRecent: true }));
  // The same reference tokens for every node that boots it: each new token lives as long as the process.
  let refs = imageRefs.get(data);
  if (!refs) {
    refs = { imageId: data.id, minDiskGiB: data.minDiskGb };
    imageRefs.set(data, refs);
  }
  return { ...refs, baseImageKey };
}
