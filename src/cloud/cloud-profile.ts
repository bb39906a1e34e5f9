import { GpuFlavorSpec, IGpuFlavorCatalog } from './gpu-flavor';
import { validateCloudProfile } from './cloud-validation';
import { MAX_LIFETIME_HOURS } from '../core/validation';
import { GpuModel } from './gpu-model';

/** Ubuntu releases with cloud images that the GPU recipes support. */
export enum UbuntuRelease {
  /** Ubuntu 22.04 LTS (Jammy Jellyfish). */
  JAMMY_22_04 = '22.04',
  /** Ubuntu 24.04 LTS (Noble Numbat). */
  NOBLE_24_04 = '24.04',
}

/** A base image a cloud offers for one Ubuntu release. */
export interface UbuntuImageSpec {
  /** The Ubuntu release of the image. */
  readonly release: UbuntuRelease;
  /** The image name in the cloud. */
  readonly imageName: string;
}

/** What a cloud profile knows about a cloud. */
export interface CloudProfileProps {
  /** A short name for errors and tags, e.g. `hfd-netlab`. */
  readonly name: string;
  /**
   * The GPU flavors of the cloud.
   * @default - none; add them with `withFlavor()` or use `GpuFlavor.named()`
   */
  readonly flavors?: GpuFlavorSpec[];
  /**
   * Ubuntu cloud images by release.
   * @default - none; nodes then need an explicit image
   */
  readonly ubuntuImages?: UbuntuImageSpec[];
  /**
   * The user that the cloud images let in over SSH.
   * @default 'ubuntu'
   */
  readonly loginUser?: string;
  /**
   * The external network that routers connect to and floating IPs come from.
   * @default - none; floating IPs and new routers then need it given
   */
  readonly externalNetworkName?: string;
  /**
   * Pattern of the per-user project network's name; `{user}` stands for the user name.
   * @default '{user}-net'
   */
  readonly userNetworkPattern?: string;
  /**
   * How long the cloud lets an instance run before it shelves it, in hours.
   * @default - no limit
   */
  readonly maxLifetimeHours?: number;
}

/**
 * Facts about one OpenStack cloud: its GPU flavors, images, login user, external network and limits.
 * Profiles are data: start from a built-in one or `CloudProfile.custom()`, and extend it with `with*()`.
 */
export class CloudProfile implements IGpuFlavorCatalog {
  /**
   * Hochschule Fulda NetLab GPUaaS: RTX 2060 SUPER (1, 2, 4) and RTX 2080 Ti (1, 2) flavors,
   * Ubuntu cloud images, instances shelved after one week.
   * The external network name `public` is the common OpenStack default; override it with
   * `withExternalNetwork()` if the cloud names it otherwise.
   */
  public static readonly HFD_NETLAB = new CloudProfile({
    name: 'hfd-netlab',
    flavors: [
      { flavorName: 'g1-1x2060.medium', model: GpuModel.RTX_2060_SUPER, gpuCount: 1 },
      { flavorName: 'g1-2x2060.medium', model: GpuModel.RTX_2060_SUPER, gpuCount: 2 },
      { flavorName: 'g1-4x2060.medium', model: GpuModel.RTX_2060_SUPER, gpuCount: 4 },
      { flavorName: 'g1-1x2080.medium', model: GpuModel.RTX_2080_TI, gpuCount: 1 },
      { flavorName: 'g1-2x2080.medium', model: GpuModel.RTX_2080_TI, gpuCount: 2 },
    ],
    ubuntuImages: [
      { release: UbuntuRelease.JAMMY_22_04, imageName: 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image' },
      { release: UbuntuRelease.NOBLE_24_04, imageName: 'Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image' },
    ],
    loginUser: 'ubuntu',
    externalNetworkName: 'public',
    userNetworkPattern: '{user}-net',
    maxLifetimeHours: 7 * 24,
  });

  /** A profile for any other cloud. */
  public static custom(props: CloudProfileProps): CloudProfile {
    return new CloudProfile(props);
  }

  /** The profile's name, used in messages. */
  public readonly name: string;
  /** The GPU flavors (frozen; extend with `withFlavor()`). */
  public readonly flavors: GpuFlavorSpec[];
  /** The Ubuntu images (frozen; extend with `withUbuntuImage()`). */
  public readonly ubuntuImages: UbuntuImageSpec[];
  /** The user that the cloud's Ubuntu images let in with the key pair (`ubuntu`). */
  public readonly loginUser: string;
  /** The external network that routers and floating IPs use; undefined where the cloud has none. */
  public readonly externalNetworkName?: string;
  /** How the cloud names each user's project network; `{user}` stands for the user name. */
  public readonly userNetworkPattern: string;
  /** How long the cloud lets a node run before it shelves it; undefined where it does not. */
  public readonly maxLifetimeHours?: number;

  private constructor(props: CloudProfileProps) {
    validateCloudProfile(props, UbuntuRelease);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(props.name)) {
      throw new Error(`CloudProfile: name must be lower-case letters, digits and '-', got '${props.name}'`);
    }
    const max = props.maxLifetimeHours;
    if (max !== undefined && !(Number.isInteger(max) && max > 0 && max <= MAX_LIFETIME_HOURS)) {
      throw new Error(`CloudProfile ${props.name}: maxLifetimeHours must be a whole number from 1 to ${MAX_LIFETIME_HOURS} (10 years), got ${max}; ` +
        'leave it out for a cloud without a lifetime limit');
    }
    this.name = props.name;
    // Frozen: profiles such as HFD_NETLAB are shared constants; extend them with with*() copies.
    this.flavors = Object.freeze([...(props.flavors ?? [])]) as GpuFlavorSpec[];
    this.ubuntuImages = Object.freeze([...(props.ubuntuImages ?? [])]) as UbuntuImageSpec[];
    this.loginUser = props.loginUser ?? 'ubuntu';
    this.externalNetworkName = props.externalNetworkName;
    this.userNetworkPattern = props.userNetworkPattern ?? '{user}-net';
    this.maxLifetimeHours = max;
  }

  /** A copy of this profile with one more flavor (or a flavor of the same name replaced). */
  public withFlavor(flavor: GpuFlavorSpec): CloudProfile {
    const flavors = this.flavors.filter((f) => f.flavorName !== flavor.flavorName).concat([flavor]);
    return new CloudProfile({ ...this.props(), flavors });
  }

  /** A copy of this profile with the image of a release replaced. */
  public withUbuntuImage(release: UbuntuRelease, imageName: string): CloudProfile {
    const ubuntuImages = this.ubuntuImages.filter((i) => i.release !== release).concat([{ release, imageName }]);
    return new CloudProfile({ ...this.props(), ubuntuImages });
  }

  /** A copy of this profile with another external network (router gateway and floating IP pool). */
  public withExternalNetwork(externalNetworkName: string): CloudProfile {
    return new CloudProfile({ ...this.props(), externalNetworkName });
  }

  /** A copy of this profile with another lifetime limit. */
  public withMaxLifetimeHours(maxLifetimeHours: number): CloudProfile {
    return new CloudProfile({ ...this.props(), maxLifetimeHours });
  }

  /** The image name of an Ubuntu release, or an error naming `path`. */
  public ubuntuImageName(path: string, release: UbuntuRelease): string {
    const image = this.ubuntuImages.find((i) => i.release === release);
    if (!image) {
      const known = this.ubuntuImages.map((i) => i.release).join(', ') || 'none';
      throw new Error(`${path}: cloud profile '${this.name}' names no image for Ubuntu ${release} (it has: ${known}); ` +
        `add one with withUbuntuImage() or use NodeImage.fromName()`);
    }
    return image.imageName;
  }

  /** The name of a user's project network, e.g. `alice-net`. */
  public userNetworkName(user: string): string {
    return this.userNetworkPattern.replace('{user}', user);
  }

  private props(): CloudProfileProps {
    return {
      name: this.name,
      flavors: [...this.flavors],
      ubuntuImages: [...this.ubuntuImages],
      loginUser: this.loginUser,
      externalNetworkName: this.externalNetworkName,
      userNetworkPattern: this.userNetworkPattern,
      maxLifetimeHours: this.maxLifetimeHours,
    };
  }
}
