import { Fn, Op, TerraformCount, TerraformOutput, TerraformResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { computeInstanceV2, dataOpenstackImagesImageIdsV2 } from '../../.gen/providers/openstack';
import { lookupBakedImages } from './baked-images';
import { gpuSummary } from '../cloud/gpus';
import { validateName } from '../core/names';
import { tfLiteral } from '../core/validation';
import { builderMetadataKey, imagePropertyKey } from '../core/node-contract';
import { checkSoftware } from '../recipe/recipe-rules';
import { validateSnapshotImage } from './snapshot-image-validation';
import { TerraformData } from '../core/terraform-data';
import { userDataArgument } from '../recipe/user-data';
import { watcherProvisioner } from '../core/watch-script';
import { CloudProfile, UbuntuRelease } from '../cloud/cloud-profile';
import { nodeProfile } from '../network/node-profile';
import { GpuFlavor, ResolvedGpuFlavor } from '../cloud/gpu-flavor';
import { INetwork } from '../network/gpu-network';
import { GpuRecipe } from '../recipe/gpu-recipe';
import { IKeyPair } from '../network/key-pair';
import { ImageVisibility, INodeImage, NodeImage } from './node-image';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';

/** Properties of a `SnapshotImage`. */
export interface SnapshotImageProps {
  /** The recipe to bake. */
  readonly recipe: GpuRecipe;
  /**
   * The image the builder boots and the recipe installs onto.
   * @default NodeImage.ubuntu(UbuntuRelease.JAMMY_22_04)
   */
  readonly baseImage?: INodeImage;
  /** The builder's flavor; its GPUs are what the readiness check expects. */
  readonly flavor: GpuFlavor;
  /** The network the builder attaches to (it needs to reach package mirrors). */
  readonly network: INetwork;
  /**
   * The cloud.
   * @default CloudProfile.HFD_NETLAB
   */
  readonly cloudProfile?: CloudProfile;
  /**
   * The `clouds.yaml` entry the OpenStack CLI uses for the snapshot; the same as the provider's `cloud`.
   * @default 'openstack'
   */
  readonly cloud?: string;
  /**
   * The image name.
   * @default - `<recipe name>-<recipe key>`
   */
  readonly imageName?: string;
  /**
   * Extra image tags.
   * @default - `gpu-node-image` and the recipe name
   */
  readonly tags?: string[];
  /**
   * Visibility of the baked image.
   * @default ImageVisibility.PRIVATE
   */
  readonly visibility?: ImageVisibility;
  /**
   * How long to wait for the builder's readiness line, in minutes.
   * @default 60
   */
  readonly timeoutMinutes?: number;
  /**
   * How often to read the builder's console log, in seconds.
   * @default 30
   */
  readonly pollIntervalSeconds?: number;
  /**
   * A keypair for the builder, to debug a failed bake over SSH (a failed builder is kept). The
   * builder has no floating IP and the network's default security group: reach it from another
   * node in the network, or add a floating IP by hand.
   * @default - none
   */
  readonly keyPair?: IKeyPair;
}

/**
 * Bakes a GPU image from a recipe, once per recipe key: while no image with the key exists,
 * a builder node boots the base image with the recipe, seals itself and powers off; a
 * `terraform_data` resource then runs `assets/gpu-node-watch.sh bake` (OpenStack CLI, `server image create`)
 * and deletes the builder. With an image for the key in place, the builder's count is 0 and
 * a deploy changes nothing in the cloud. Nodes use the image with `NodeImage.fromRecipe()`.
 */
export class SnapshotImage extends Construct {
  /** The recipe's content key, recorded as the image property `recipe_key` (below the contract's GPU_NODE_PROPERTY_PREFIX). */
  public readonly recipeKey: string;
  /** The name the baked image gets: the recipe's name and key. */
  public readonly imageName: string;
  /** The image for nodes in any stack: the newest bake of this recipe, else the base image. */
  public readonly image: INodeImage;
  /**
   * The builder server. It has a count (0 once an image exists), so reference its attributes by
   * index, e.g. `${openstack_compute_instance_v2.<id>[0].id}`, not through `builder.id`.
   */
  public readonly builder: computeInstanceV2.ComputeInstanceV2;
  /** The `terraform_data` resource whose provisioner takes the snapshot (counted like `builder`). */
  public readonly bake: TerraformResource;
  /** The lookup of images already baked for the key. */
  public readonly existingImages: dataOpenstackImagesImageIdsV2.DataOpenstackImagesImageIdsV2;
  /** The flavor the builder boots with. */
  public readonly flavor: ResolvedGpuFlavor;

  constructor(scope: Construct, id: string, props: SnapshotImageProps) {
    super(checkedScope(scope, id, 'SnapshotImage'), id);
    guardRetainedVolumes(this);
    const p = this.node.path;
    validateSnapshotImage(p, props, ImageVisibility);
    const profile = nodeProfile(p, props.cloudProfile, props.network);
    const baseImage = props.baseImage ?? NodeImage.ubuntu(UbuntuRelease.JAMMY_22_04);
    const timeout = props.timeoutMinutes ?? 60;
    if (!Number.isInteger(timeout) || timeout < 5 || timeout > 24 * 60) {
      throw new Error(`${p}: timeoutMinutes must be a whole number from 5 to 1440 (a driver and CUDA install takes 10-30), got ${timeout}`);
    }
    const poll = props.pollIntervalSeconds ?? 30;
    if (!Number.isInteger(poll) || poll < 1 || poll > 600) {
      throw new Error(`${p}: pollIntervalSeconds must be a whole number from 1 to 600, got ${poll}`);
    }
    const cloud = props.cloud ?? 'openstack';
    if (!/^[\w.-]+$/.test(cloud)) {
      throw new Error(`${p}: cloud must be a clouds.yaml entry name such as 'openstack', got '${cloud}'`);
    }
    this.flavor = props.flavor._resolve(p, profile);
    const base = baseImage.bind(this, profile);
    checkSoftware(this, props.recipe, this.flavor.model, base.ubuntuRelease);
    this.recipeKey = props.recipe._key(base.baseImageKey);
    this.imageName = validateName(p, 'imageName', props.imageName) ?? `${props.recipe.name}-${this.recipeKey}`;
    this.image = NodeImage.fromRecipe(props.recipe, { baseImage });
    const tags = props.tags ?? ['gpu-node-image', props.recipe.name];

    this.existingImages = lookupBakedImages(this, 'ExistingImages', this.recipeKey);
    // One builder while no image carries the key; none after, so re-deploys do nothing.
    const count = TerraformCount.of(Token.asNumber(Fn.conditional(Op.gte(Fn.lengthOf(this.existingImages.ids), 1), 0, 1)));

    const userData = props.recipe._render({
      path: p,
      expectedGpus: this.flavor.gpuCount,
      expectedModel: this.flavor.model,
      loginUser: profile.loginUser,
      sealForSnapshot: true,
      recipeKey: this.recipeKey,
    });
    this.builder = new computeInstanceV2.ComputeInstanceV2(this, 'Builder', {
      count,
      name: tfLiteral(`${this.imageName}-builder`),
      flavorName: this.flavor.flavorName,
      imageId: base.imageId,
      keyPair: props.keyPair?.keyPairName,
      userData: userDataArgument(this, userData.text),
      network: [{ uuid: props.network.networkId }],
      // The subnet reference makes the builder wait for the subnet and its router interface
      // (a port would do too, but Nova leaves a given port behind when the bake deletes the server).
      metadata: {
        [builderMetadataKey('recipe_key')]: this.recipeKey,
        [builderMetadataKey('role')]: 'snapshot-builder',
        [builderMetadataKey('subnet')]: props.network.subnetId,
      },
      tags: ['gpu-node-builder'],
    });

    const properties = {
      [imagePropertyKey('base_image')]: base.baseImageKey,
      [imagePropertyKey('gpus')]: gpuSummary(this.flavor),
      ...props.recipe._describe(),
    };
    const builderId = `\${${this.builder.terraformResourceType}.${this.builder.friendlyUniqueId}[count.index].id}`;
    this.bake = new TerraformData(this, 'Bake', {
      count,
      triggersReplace: { recipeKey: this.recipeKey, builder: builderId },
      input: { imageName: tfLiteral(this.imageName), recipeKey: this.recipeKey },
      provisioners: [watcherProvisioner(this, 'bake', cloud, {
        BAKE_SERVER_ID: builderId,
        BAKE_IMAGE_NAME: tfLiteral(this.imageName),
        BAKE_RECIPE_KEY: this.recipeKey,
        BAKE_RECIPE_NAME: props.recipe.name,
        BAKE_PROPERTIES: tfLiteral(Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n')),
        BAKE_TAGS: tfLiteral(tags.join(',')),
        BAKE_VISIBILITY: props.visibility ?? ImageVisibility.PRIVATE,
        BAKE_TIMEOUT: `${timeout * 60}`,
        BAKE_POLL_INTERVAL: `${poll}`,
      })],
      dependsOn: [this.builder],
    });

    new TerraformOutput(this, 'ImageName', { value: tfLiteral(this.imageName), description: tfLiteral(`Image baked from recipe ${props.recipe.name}`) });
    new TerraformOutput(this, 'RecipeKey', { value: this.recipeKey, description: `${imagePropertyKey('recipe_key')} of the baked image` });
    new TerraformOutput(this, 'UserDataBytes', { value: userData.base64Bytes, description: 'Builder user_data size after base64 (Nova limit 65535)' });
  }
}
