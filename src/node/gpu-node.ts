import { Annotations, Fn, Op, TerraformOutput, TerraformResource, Token } from 'cdktf';
import { createHash } from 'crypto';
import { Construct } from 'constructs';
import {
  blockstorageVolumeV3,
  computeInstanceV2,
  networkingFloatingipAssociateV2,
  networkingFloatingipV2,
  networkingPortV2,
} from '../../.gen/providers/openstack';
import { blockDevices, createDataVolume, existingVolumeId } from './data-volume-resources';
import { gpuSummary } from '../cloud/gpus';
import { addToNodeMap } from './node-map-output';
import { nameOrDefault, requireResolved } from '../core/names';
import { MAX_LIFETIME_HOURS, tfLiteral, tfLiteralMap } from '../core/validation';
import { checkSoftware } from '../recipe/recipe-rules';
import { validateGpuNode } from './gpu-node-validation';
import { addPreflight, noteFlavorOutsideProfile, preflightEnabledByContext } from './preflight';
import { TerraformData } from '../core/terraform-data';
import { userDataArgument } from '../recipe/user-data';
import { watcherProvisioner } from '../core/watch-script';
import { checkProxyJump } from '../network/ssh-config';
import { CloudProfile, UbuntuRelease } from '../cloud/cloud-profile';
import { ApplicationCredential, checkCredentialTarget, IDLE_SHELVE_ACCESS_RULES } from '../cloud/application-credential';
import { nodeContract } from '../core/node-contract';
import { DataVolumeOptions, VolumeRemovalPolicy } from './data-volume';
import { GpuFlavor, ResolvedGpuFlavor } from '../cloud/gpu-flavor';
import { INetwork } from '../network/gpu-network';
import { nodeProfile } from '../network/node-profile';
import { cidrContains, isIpAddress } from '../core/ip';
import { GpuRecipe } from '../recipe/gpu-recipe';
import { RenderedUserData } from '../recipe/recipe-options';
import { IKeyPair } from '../network/key-pair';
import { INodeImage, NodeImage, NodeImageConfig } from '../image/node-image';
import { NodeOutputs } from './node-outputs';
import { Peer } from '../network/peer';
import { PowerState } from './power-state';
import { IServerGroup } from './server-group';
import { IngressRule, ISecurityGroup, SecurityGroup } from '../network/security-group';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';

/** How `cdktf deploy` waits for a node's GPUs (`GpuNodeProps.waitForReady`). */
export interface ReadyWaitOptions {
  /**
   * How long to wait for the ready line, in minutes (a first boot installs for 10-30).
   * @default 45
   */
  readonly timeoutMinutes?: number;
  /**
   * How often to read the console, in seconds.
   * @default 20
   */
  readonly pollIntervalSeconds?: number;
  /**
   * The `clouds.yaml` entry the OpenStack CLI uses; the same as the provider's `cloud`.
   * @default 'openstack'
   */
  readonly cloud?: string;
}

/** Which plan-time checks a node makes (`GpuNodeProps.preflight`); the flavor lookup always runs. */
export interface PreflightOptions {
  /**
   * The flavor's `pci_passthrough:alias` extra spec passes through as many GPUs as the node
   * expects (skipped where the flavor has no such spec).
   * @default true
   */
  readonly gpus?: boolean;
  /**
   * The project's compute quota has room for the instances, vCPUs and RAM of the stack's new servers.
   * @default true
   */
  readonly quota?: boolean;
}

/**
 * How long the provider waits for the server (`timeouts` of `openstack_compute_instance_v2`). An
 * unshelve on a cloud with no free GPU host never fails in Nova (the conductor logs NoValidHost
 * and leaves the server SHELVED_OFFLOADED), so this bounds the deploy.
 */
export interface ServerTimeouts {
  /**
   * Minutes to wait for a new server to become ACTIVE.
   * @default 30
   */
  readonly createMinutes?: number;
  /**
   * Minutes to wait for a power-state change (unshelve, start) to finish.
   * @default 15
   */
  readonly updateMinutes?: number;
  /**
   * Minutes to wait for the server's deletion.
   * @default 15
   */
  readonly deleteMinutes?: number;
}

/**
 * A node that shelves itself when idle (`GpuNodeProps.idleShelve`): its GPUs go back to the cloud, its
 * disk, port and addresses stay, and `cdktf deploy` with `PowerState.RUNNING` brings it back.
 */
export interface IdleShelveOptions {
  /**
   * Hours without a GPU compute process, with every GPU at or under 5% utilization and without an SSH
   * connection, after which the node shelves itself. Checked every 5 minutes; a busy check, a reboot
   * or an unshelve starts the count anew.
   * @default 4
   */
  readonly afterHours?: number;
  /** Keystone's v3 URL for the node's OpenStack CLI, e.g. `https://cloud.example:5000/v3`. */
  readonly authUrl: string;
  /**
   * The region of the compute API.
   * @default - the cloud's only region
   */
  readonly region?: string;
  /**
   * The Keystone roles of the node's application credential on the project: the least a shelve needs
   * under Nova's default policy (`os_compute_api:os-shelve:shelve` is PROJECT_MEMBER_OR_ADMIN). The
   * deploying user must have them. Named rather than inherited from the deploying user's token, so an
   * admin's deploy does not hand the node an admin credential.
   * @default ['member']
   */
  readonly roles?: string[];
}

/** Properties of a `GpuNode`. */
export interface GpuNodeProps {
  /** The flavor: `GpuFlavor.of(GpuModel.RTX_2080_TI, 1)` or `GpuFlavor.named(...)`. */
  readonly flavor: GpuFlavor;
  /** The network to attach to. */
  readonly network: INetwork;
  /**
   * The cloud the node runs on: flavors, images, login user, floating IP pool, lifetime.
   * A network made for another cloud is an error.
   * @default - the network's profile (a `GpuNetwork`, or `GpuNetwork.forUser`), else CloudProfile.HFD_NETLAB
   */
  readonly cloudProfile?: CloudProfile;
  /**
   * The image to boot.
   * @default NodeImage.ubuntu(UbuntuRelease.JAMMY_22_04) - the profile's Ubuntu 22.04 image
   */
  readonly image?: INodeImage;
  /**
   * The keypair for SSH.
   * @default - no keypair: no SSH login (a warning is printed at synth)
   */
  readonly keyPair?: IKeyPair;
  /**
   * Security groups of the node's port.
   * @default - the network's security group, or else a new one that allows SSH only from `sshFrom`
   */
  readonly securityGroups?: ISecurityGroup[];
  /**
   * Peers that may SSH to the node, used when the node makes its own security group.
   * @default - no SSH rule
   */
  readonly sshFrom?: Peer[];
  /**
   * Further ports to open, used when the node makes its own security group (a node on an
   * existing network, e.g. `GpuNetwork.forUser`): `{ port: Port.JUPYTER }` opens to the `sshFrom`
   * peers, `{ port, peers: [Peer.securityGroup(other)] }` to the members of another group.
   * @default - none
   */
  readonly ingress?: IngressRule[];
  /**
   * The Nova server group the node joins at creation (the `group` scheduler hint; changing it
   * replaces the server).
   * @default - none
   */
  readonly serverGroup?: IServerGroup;
  /**
   * The node's address on the network's subnet, e.g. one of `GpuNetwork.fixedAddresses()`; nodes that
   * must know each other's addresses at synth (a `SlurmCluster`) use it.
   * @default - Neutron picks one from the subnet's allocation pool
   */
  readonly fixedIpAddress?: string;
  /**
   * Give the node a floating IP from the profile's external network. A network without a router to the
   * external network (`GpuNetwork` with `router: false`) cannot carry one: asking for it there is an error.
   * @default - true, unless the network has no router to the external network
   */
  readonly floatingIp?: boolean;
  /**
   * Boot from a new volume of this size (GiB) instead of the flavor's disk; deleted with the node.
   * @default - the flavor's root disk
   */
  readonly rootVolumeSizeGiB?: number;
  /**
   * A data volume attached to the node; it stays when the node is replaced.
   * @default - none
   */
  readonly dataVolume?: DataVolumeOptions;
  /**
   * The server name in the cloud.
   * @default - derived from the construct path
   */
  readonly nodeName?: string;
  /**
   * Server metadata (key/value). Written when the server is created; an edit takes effect at
   * the node's next rollout (Nova refuses metadata updates of a shelved node).
   * @default - only the library's own keys (recipe, lifetime, start and shelve time)
   */
  readonly metadata?: { [key: string]: string };
  /**
   * Server tags. Written when the server is created; an edit takes effect at the next rollout.
   * @default - `gpu-node` and the GPU model
   */
  readonly tags?: string[];
  /**
   * The availability zone.
   * @default - the cloud's choice
   */
  readonly availabilityZone?: string;
  /**
   * The cloud-init recipe.
   * @default - `new GpuRecipe()`: driver 580 (open modules), CUDA 13.0, Docker with the NVIDIA container toolkit
   */
  readonly recipe?: GpuRecipe;
  /**
   * Running, stopped, paused or shelved. `STOPPED` and `PAUSED` are applied by a `terraform_data`
   * that runs `assets/gpu-node-watch.sh power` with the OpenStack CLI (see `waitForReady`) only when
   * this value or the server changes, and are satisfied by a node the cloud has shelved: so a
   * deploy after the weekly shelve changes nothing. The provider applies only `shutoff` when it
   * creates a server, and a stop during the first boot would cut the recipe short: create nodes
   * RUNNING, then deploy again with another state.
   * @default PowerState.RUNNING
   */
  readonly powerState?: PowerState;
  /**
   * How long a deploy waits for the server to be created, change power state or be deleted.
   * @default - create 30, update 15, delete 15 minutes
   */
  readonly serverTimeouts?: ServerTimeouts;
  /**
   * Hours until the cloud shelves the node; at most the profile's limit. Recorded in the
   * server's metadata at creation, so an edit applies from the next rollout.
   * @default - the profile's `maxLifetimeHours` (168 on HFD NetLab); none if the profile has no limit
   */
  readonly lifetimeHours?: number;
  /**
   * Warn logged-in users this many hours before the shelve time.
   * @default 24
   */
  readonly lifetimeWarningHours?: number;
  /**
   * Replace the node when its recipe, image, keypair, flavor or root disk changes. Off by default, so that
   * an edit never silently destroys a running node and its disk; change `rolloutToken` to move a
   * node onto a new image on purpose. (An image change is always a replacement, never the
   * provider's in-place rebuild, which would wipe the root disk under the same server.)
   * @default false
   */
  readonly replaceOnChange?: boolean;
  /**
   * Any string; setting, changing or removing it replaces the node (its port, floating IP and data volume stay).
   * A node deployed by 0.1 without a token: deploy once with this release first (that adds the node's
   * rollout trigger and changes nothing else), then set the token.
   * @default - none
   */
  readonly rolloutToken?: string;
  /**
   * Reach the node through this host (`user@address`, as ssh's `-J` takes it), e.g. a cluster's
   * head for workers without a floating IP: the node's `SshCommand` becomes `ssh -J <host> ...`.
   * @default - none: ssh goes straight to the node's address
   */
  readonly sshProxyJump?: string;
  /**
   * How the node reports its id, addresses and ssh command: outputs of its own, or one entry in
   * the stack's `gpu_nodes` map output (for fleets).
   * @default NodeOutputs.PER_NODE
   */
  readonly outputs?: NodeOutputs;
  /**
   * Seal the node for a snapshot once ready and power it off (used by `SnapshotImage`).
   * @default false
   */
  readonly sealForSnapshot?: boolean;
  /**
   * Make `cdktf deploy` return only once the node's console shows the recipe's ready line for
   * this boot, and fail with the node's own failure line or a timeout: a `terraform_data`
   * runs `assets/gpu-node-watch.sh ready` on the deploying machine, which needs the OpenStack
   * CLI (`openstack`) and the same `clouds.yaml` cloud. It waits again whenever the server is
   * replaced or its power state changes to RUNNING; for other states it does not wait.
   * @default false
   */
  readonly waitForReady?: boolean | ReadyWaitOptions;
  /**
   * Plan-time checks (Terraform preconditions), so that a plan fails with a message naming the
   * node, the flavor and the numbers before anything is created: the flavor exists, its PCI
   * passthrough alias count matches the GPUs the flavor promises, and the project's quota has
   * room. `false` skips them all, e.g. on clouds that hide flavor extra specs or limits. The app
   * context key `cdktf-openstack-gpu:preflight` set to `false` skips them for every node of the app
   * (plans against a mock provider, CI without a cloud), whatever this prop says.
   * @default true
   */
  readonly preflight?: boolean | PreflightOptions;
  /**
   * Give idle GPUs back: the node shelves its own server once it has been idle for
   * `afterHours`, printing a `GPU-NODE-IDLE-SHELVE ... reason="..."` line on its console first and
   * adding the reason to its status.json. Creates a Keystone application credential restricted to the
   * compute API's server show and server actions; its secret reaches the node through the server
   * metadata (see the README, "Idle shelve of a GpuNode"). Written at the server's creation, like
   * `metadata`: turning it on for a running node takes effect at its next rollout.
   * @default - off: the node runs until the cloud shelves it
   */
  readonly idleShelve?: IdleShelveOptions;
}

/**
 * A GPU node: an OpenStack server with PCI-passthrough NVIDIA GPUs, booted with a cloud-init
 * recipe that installs the driver, CUDA and the container toolkit, with a port in the given
 * network, a floating IP and outputs for SSH.
 */
export class GpuNode extends Construct {
  /** The L1 server (`openstack_compute_instance_v2`), as an escape hatch. */
  public readonly resource: computeInstanceV2.ComputeInstanceV2;
  /** The L1 port on the node's network (`openstack_networking_port_v2`), as an escape hatch. */
  public readonly port: networkingPortV2.NetworkingPortV2;
  /** The L1 floating IP (`openstack_networking_floatingip_v2`), where the node has one. */
  public readonly floatingIp?: networkingFloatingipV2.NetworkingFloatingipV2;
  /** The L1 data volume (`openstack_blockstorage_volume_v3`), where the node made one. */
  public readonly dataVolume?: blockstorageVolumeV3.BlockstorageVolumeV3;
  /** The id of the node's data volume (made or attached as it exists), where it has one. */
  public readonly dataVolumeId?: string;
  /** The flavor the node boots with, resolved against the cloud profile. */
  public readonly flavor: ResolvedGpuFlavor;
  /** The recipe the node installs at first boot (nothing is installed when it boots from a bake of it). */
  public readonly recipe: GpuRecipe;
  /** The content key of the recipe on this node's base image. */
  public readonly recipeKey: string;
  /** The cloud-config the node boots with, and its sizes. */
  public readonly userData: RenderedUserData;
  /** The image the node boots from. */
  public readonly image: NodeImageConfig;
  /** The server's name in the cloud. */
  public readonly nodeName: string;
  /** The user to SSH in as. */
  public readonly loginUser: string;
  /** The address to SSH to: the floating IP, or else the fixed IP. */
  public readonly address: string;
  /** The `ssh` command that reaches the node, as a Terraform expression. */
  public readonly sshCommand: string;
  /** The node's lifetime, after which it powers itself off; undefined for no limit. */
  public readonly lifetimeHours?: number;
  /** The `terraform_data` that waits for the ready line, with `waitForReady`. */
  public readonly readyWait?: TerraformResource;
  /** The application credential the node shelves itself with, where `idleShelve` is on. */
  public readonly idleShelveCredential?: TerraformResource;
  /** The `terraform_data` that stops or pauses the node, with `PowerState.STOPPED` or `PAUSED`. */
  public readonly powerControl?: TerraformResource;
  /**
   * The security group the node made (when neither `securityGroups` nor the network gave one),
   * e.g. to add rules: `node.securityGroup?.addIngress(Peer.securityGroup(other), Port.tcp(29500))`.
   */
  public readonly securityGroup?: SecurityGroup;
  /** Every security group on the node's port. */
  public readonly securityGroups: ISecurityGroup[];

  /**
   * References the node uses more than once, taken once: each access of an L1 attribute makes a new
   * token, and cdktf keeps every token (with its creation stack) for the life of the process.
   */
  private readonly refs: { portId?: string; floatingIpAddress?: string } = {};

  constructor(scope: Construct, id: string, props: GpuNodeProps) {
    super(checkedScope(scope, id, 'GpuNode'), id);
    guardRetainedVolumes(this);
    const profile = this.validate(props);
    this.flavor = props.flavor._resolve(this.node.path, profile);
    noteFlavorOutsideProfile(this, this.flavor.flavorName, profile);
    this.loginUser = profile.loginUser;
    this.nodeName = this.validNodeName(props.nodeName);
    this.lifetimeHours = resolveLifetime(this.node.path, profile, props.lifetimeHours, props.lifetimeWarningHours);
    this.image = (props.image ?? NodeImage.ubuntu(UbuntuRelease.JAMMY_22_04)).bind(this, profile);
    this.recipe = props.recipe ?? new GpuRecipe();
    checkSoftware(this, this.recipe, this.flavor.model, this.image.ubuntuRelease);
    this.recipeKey = this.recipe._key(this.image.baseImageKey);
    const idleHours = this.idleShelveHours(props.idleShelve);
    this.userData = this.renderUserData(props, idleHours);

    const access = this.createAccess(props);
    this.securityGroup = access.securityGroup;
    this.securityGroups = access.securityGroups;
    this.port = access.port;
    this.refs.portId = this.port.id;
    const triggers = this.createReplacementTriggers(props);
    if (props.idleShelve) {
      const idle = this.addIdleShelveCredential(props.idleShelve);
      this.idleShelveCredential = idle.credential;
      Object.assign(triggers.metadata, idle.metadata);
    }
    if (props.dataVolume?.existingVolumeId !== undefined) {
      this.dataVolumeId = existingVolumeId(this.node.path, props.dataVolume);
    } else if (props.dataVolume) {
      this.dataVolume = this.addDataVolume(props.dataVolume);
      this.dataVolumeId = this.dataVolume.id;
    }
    this.resource = this.createServer(props, triggers);
    this.floatingIp = this.createAddresses(props, profile);
    if (props.preflight !== false && preflightEnabledByContext(this)) {
      this.addPreflight(props.preflight === true || props.preflight === undefined ? {} : props.preflight);
    }
    const powerState = props.powerState ?? PowerState.RUNNING;
    if (powerState === PowerState.STOPPED || powerState === PowerState.PAUSED) {
      this.powerControl = this.addPowerControl(powerState, props.waitForReady);
    }
    if (props.waitForReady) {
      this.readyWait = this.addReadyWait(props.waitForReady === true ? {} : props.waitForReady, props.powerState ?? PowerState.RUNNING);
    }

    const fixedIp = Fn.element(this.port.allFixedIps, 0);
    this.address = this.floatingIp ? this.refs.floatingIpAddress! : fixedIp;
    const jump = checkProxyJump(this.node.path, 'sshProxyJump', props.sshProxyJump);
    this.sshCommand = `ssh -i ${props.keyPair?.privateKeyHint ?? '<no keypair>'} ${jump ? `-J ${jump} ` : ''}${this.loginUser}@${this.address}`;
    this.addOutputs(props.outputs ?? NodeOutputs.PER_NODE, fixedIp, triggers.metadata.gpu_node_shelve_at);
  }

  /**
   * The L1 server.
   * @deprecated use `resource`, the name every construct of this library gives its main L1 resource
   */
  public get instance(): computeInstanceV2.ComputeInstanceV2 {
    return this.resource;
  }

  /** Checks the props that need nothing resolved, and returns the node's cloud profile. */
  private validate(props: GpuNodeProps): CloudProfile {
    const path = this.node.path;
    validateGpuNode(path, props, { removal: VolumeRemovalPolicy, outputs: NodeOutputs });
    const profile = nodeProfile(path, props.cloudProfile, props.network);
    if (props.fixedIpAddress !== undefined && !Token.isUnresolved(props.fixedIpAddress) && !isIpAddress(props.fixedIpAddress)) {
      throw new Error(`${path}: fixedIpAddress must be an IPv4 or IPv6 address, got '${props.fixedIpAddress}'; e.g. '10.42.0.250'`);
    }
    // A GpuNetwork knows its subnet at synth; Neutron would refuse the port only at apply.
    const cidr = (props.network as { cidr?: unknown }).cidr;
    const ip = props.fixedIpAddress;
    if (ip !== undefined && !Token.isUnresolved(ip) && typeof cidr === 'string' && !Token.isUnresolved(cidr) && !cidrContains(cidr, ip)) {
      throw new Error(`${path}: fixedIpAddress must be an address in the subnet ${cidr} of network '${props.network.networkName}', ` +
        `got '${ip}'; pick one of the network's fixedAddresses()`);
    }
    for (const [prop, given] of [['sshFrom', props.sshFrom], ['ingress', props.ingress]] as const) {
      if (given && !makesOwnGroup(props)) {
        const why = props.securityGroups ? 'securityGroups are given' : 'the network brings one';
        throw new Error(`${path}: ${prop} applies only to a security group the node makes itself, but ${why}; ` +
          `give ${prop} to the GpuNetwork or add rules to your SecurityGroup, or leave securityGroups out`);
      }
    }
    const rootDisk = props.rootVolumeSizeGiB;
    if (rootDisk !== undefined && !Token.isUnresolved(rootDisk) && !(Number.isInteger(rootDisk) && rootDisk >= 10 && rootDisk <= 16384)) {
      throw new Error(`${path}: rootVolumeSizeGiB must be a whole number from 10 to 16384 (CUDA alone needs ~10 GiB), got ${rootDisk}`);
    }
    if (props.floatingIp === true && props.network.routesToExternalNetwork === false) {
      throw new Error(`${path}: floatingIp needs a router from network '${props.network.networkName}' to the external network, ` +
        'and it has none; give the GpuNetwork router: true, or set floatingIp: false and reach the node from inside the network');
    }
    if (wantsFloatingIp(props) && !profile.externalNetworkName) {
      throw new Error(`${path}: cloud profile '${profile.name}' names no external network for floating IPs; ` +
        `use profile.withExternalNetwork('<name>') or set floatingIp: false`);
    }
    return profile;
  }

  /** The server name, checked: port, security group and volume are named after it with a suffix. */
  private validNodeName(given: string | undefined): string {
    const path = this.node.path;
    const name = nameOrDefault(path, 'nodeName', given);
    if (!Token.isUnresolved(name) && name.length > 255 - '-access'.length) {
      throw new Error(`${path}: nodeName must be at most ${255 - '-access'.length} characters, as '-access' is appended for ` +
        `its security group; got ${name.length} characters`);
    }
    return name;
  }

  /** `idleShelve.afterHours`, checked (0 without idleShelve), and the credential's settings. */
  private idleShelveHours(idle: IdleShelveOptions | undefined): number {
    if (!idle) return 0;
    const path = this.node.path;
    const hours = idle.afterHours ?? 4;
    requireResolved(path, 'idleShelve.afterHours', hours);
    // Up to a year; the cloud's own lifetime (168 h on HFD NetLab) comes first anyway.
    if (!(Number.isInteger(hours) && hours >= 1 && hours <= 8760)) {
      throw new Error(`${path}: idleShelve.afterHours must be a whole number of hours from 1 to 8760, got ${hours}; ` +
        'e.g. 4 (a shelve and an unshelve cost minutes, so short idle times thrash)');
    }
    checkCredentialTarget(path, 'idleShelve', idle, "the node's");
    return hours;
  }

  /**
   * The node's application credential (shelve its server) and the server metadata that carries it: a
   * reference in cdk.tf.json, the secret in Terraform state only.
   */
  private addIdleShelveCredential(idle: IdleShelveOptions): { credential: ApplicationCredential; metadata: { [key: string]: string } } {
    const credential = new ApplicationCredential(this, 'IdleShelveCredential', {
      name: `${this.nodeName}-idle-shelve`,
      description: `GPU node ${this.nodeName}: shelve itself when idle, managed by cdktf (${this.node.path})`,
      // Expires with the node's lifetime after the first apply, as the cluster's does.
      lifetimeHours: this.lifetimeHours,
      roles: idle.roles ?? ['member'],
      accessRules: IDLE_SHELVE_ACCESS_RULES,
    });
    const prefix = nodeContract().idleMetadataPrefix;
    return {
      credential,
      metadata: {
        [`${prefix}auth_url`]: tfLiteral(idle.authUrl),
        ...(idle.region ? { [`${prefix}region`]: tfLiteral(idle.region) } : {}),
        [`${prefix}credential_id`]: credential.id,
        [`${prefix}credential_secret`]: credential.secret,
      },
    };
  }

  private renderUserData(props: GpuNodeProps, idleShelveHours: number): RenderedUserData {
    return this.recipe._render({
      path: this.node.path,
      expectedGpus: this.flavor.gpuCount,
      expectedModel: this.flavor.model,
      loginUser: this.loginUser,
      lifetimeHours: this.lifetimeHours,
      lifetimeWarningHours: props.lifetimeWarningHours,
      sealForSnapshot: props.sealForSnapshot,
      idleShelveHours,
      recipeKey: this.recipeKey,
    });
  }

  /** Who may reach the node: its security groups (its own, unless given or the network's) and its port. */
  private createAccess(props: GpuNodeProps): { securityGroup?: SecurityGroup; securityGroups: ISecurityGroup[]; port: networkingPortV2.NetworkingPortV2 } {
    const securityGroup = makesOwnGroup(props) ? new SecurityGroup(this, 'SecurityGroup', {
      securityGroupName: `${this.nodeName}-access`,
      sshFrom: props.sshFrom,
      ingress: props.ingress,
    }) : undefined;
    const securityGroups = props.securityGroups ??
      (props.network.securityGroup ? [props.network.securityGroup] : [securityGroup!]);
    if (!props.keyPair) {
      Annotations.of(this).addWarning(`${this.node.path}: no keyPair given, so nobody can log in with SSH`);
    }
    const port = new networkingPortV2.NetworkingPortV2(this, 'Port', {
      name: tfLiteral(`${this.nodeName}-port`),
      networkId: props.network.networkId,
      adminStateUp: true,
      fixedIp: [{ subnetId: props.network.subnetId, ipAddress: props.fixedIpAddress }],
      securityGroupIds: securityGroups.map((g) => g.securityGroupId),
    });
    return { securityGroup, securityGroups, port };
  }

  /**
   * The rollout trigger, replaced when the token (or, with replaceOnChange, anything the server is
   * built from) changes, which replaces the server and its start time with it; and the library's
   * server metadata, with the start and shelve times.
   */
  private createReplacementTriggers(props: GpuNodeProps): { rollout: TerraformData; metadata: { [key: string]: string } } {
    // Always there, with token '' when none is given: replace_triggered_by reacts only to an update
    // or replacement of the trigger, never to its creation (EvaluateReplaceTriggeredBy in
    // Terraform/OpenTofu), so a trigger created with the first token would leave the server as it
    // is (found by the cloud tier).
    const rollout = new TerraformData(this, 'Rollout', {
      triggersReplace: {
        token: tfLiteral(props.rolloutToken ?? ''),
        ...(props.replaceOnChange ? {
          image: this.image.imageId,
          userData: createHash('sha256').update(this.userData.text).digest('hex'),
          keyPair: tfLiteral(props.keyPair?.keyPairName ?? ''),
          rootVolumeSizeGiB: `${props.rootVolumeSizeGiB ?? ''}`,
          flavor: this.flavor.flavorName,
        } : {}),
      },
    });
    const startedAt = new TerraformData(this, 'StartedAt', {
      input: { time: '${timestamp()}' },
      // Recorded once at creation; later plans keep it, a rollout starts it anew. Without a token
      // no trigger, as before: upgrading a node deployed without one keeps its clock (and ShelveAt);
      // its first token then adds the trigger, which replaces this record with the server.
      lifecycle: { ignoreChanges: ['input'] },
      triggersReplace: props.rolloutToken !== undefined || props.replaceOnChange ? { rollout: rollout.id } : undefined,
    });
    // Plain references, not Fn tokens: cdktf keeps every token in its process-wide token map, with the
    // stack trace of its creation, for as long as the process lives (README, Benchmark: five synths).
    const started = `${startedAt.terraformResourceType}.${startedAt.friendlyUniqueId}.output.time`;
    const startTime = `\${${started}}`;
    const metadata: { [key: string]: string } = {
      gpu_node_recipe_name: this.recipe.name,
      gpu_node_recipe_key: this.recipeKey,
      gpu_node_gpus: gpuSummary(this.flavor),
      gpu_node_started_at: startTime,
    };
    if (this.lifetimeHours !== undefined) {
      metadata.gpu_node_lifetime_hours = `${this.lifetimeHours}`;
      metadata.gpu_node_shelve_at = `\${timeadd(${started}, "${this.lifetimeHours}h")}`;
    }
    return { rollout, metadata };
  }

  private createServer(props: GpuNodeProps, triggers: { rollout: TerraformData; metadata: { [key: string]: string } }): computeInstanceV2.ComputeInstanceV2 {
    const path = this.node.path;
    const rootDisk = props.rootVolumeSizeGiB;
    const rollout = triggers.rollout;
    const tags = props.tags ?? ['gpu-node', ...(this.flavor.model ? [this.flavor.model.id.toLowerCase()] : [])];
    return new computeInstanceV2.ComputeInstanceV2(this, 'Resource', {
      name: tfLiteral(this.nodeName),
      flavorName: this.flavor.flavorName,
      imageId: rootDisk === undefined ? this.image.imageId : undefined,
      keyPair: props.keyPair?.keyPairName,
      availabilityZone: tfLiteral(props.availabilityZone),
      schedulerHints: props.serverGroup ? [{ group: props.serverGroup.serverGroupId }] : undefined,
      userData: userDataArgument(this, this.userData.text),
      powerState: (props.powerState ?? PowerState.RUNNING).providerValue,
      timeouts: serverTimeouts(path, props.serverTimeouts),
      network: [{ port: this.refs.portId! }],
      blockDevice: blockDevices(this.image.imageId, rootDisk, this.dataVolumeId),
      metadata: { ...triggers.metadata, ...tfLiteralMap(props.metadata ?? {}) },
      tags: tags.map((t) => tfLiteral(t)),
      lifecycle: {
        // The rollout trigger replaces the server instead: never the provider's in-place rebuild
        // (image) or a silent replacement (user_data, keypair, root disk) of a running node.
        ignoreChanges: ['user_data', 'image_id', 'image_name', 'key_pair', 'block_device', ...SET_AT_CREATION,
          // STOPPED and PAUSED are applied by the power control (addPowerControl), not the provider:
          // it would call stop or pause on a server the cloud shelved and fail with 409 at every
          // deploy (resourceComputeInstanceV2Update calls them whatever the old state is).
          ...(isAppliedByPowerControl(props.powerState) ? ['power_state'] : [])],
        // A bare address: Terraform reads replace_triggered_by entries as references, not templates.
        replaceTriggeredBy: [`${rollout.terraformResourceType}.${rollout.friendlyUniqueId}`],
        // A root volume smaller than the image's min_disk fails in Nova after the plan; say so at plan.
        precondition: rootDisk !== undefined && this.image.minDiskGiB !== undefined ? [{
          condition: Op.gte(rootDisk, this.image.minDiskGiB),
          errorMessage: tfLiteral(`${path}: rootVolumeSizeGiB must be at least the image's min_disk, got ${rootDisk} GiB; ` +
            'raise rootVolumeSizeGiB or boot a smaller image'),
        }] : undefined,
      },
    });
  }

  /** The floating IP from the profile's external network and its association with the port, where the node has one. */
  private createAddresses(props: GpuNodeProps, profile: CloudProfile): networkingFloatingipV2.NetworkingFloatingipV2 | undefined {
    if (!wantsFloatingIp(props)) return undefined;
    const floatingIp = new networkingFloatingipV2.NetworkingFloatingipV2(this, 'FloatingIp', {
      pool: tfLiteral(profile.externalNetworkName!),
      description: tfLiteral(`${this.nodeName} (cdktf)`),
    });
    new networkingFloatingipAssociateV2.NetworkingFloatingipAssociateV2(this, 'FloatingIpAssociation', {
      floatingIp: this.refs.floatingIpAddress = floatingIp.address,
      portId: this.refs.portId!,
    });
    return floatingIp;
  }

  private addOutputs(kind: NodeOutputs, fixedIp: string, shelveAt: string | undefined): void {
    if (kind === NodeOutputs.STACK_MAP) {
      addToNodeMap(this, Token.isUnresolved(this.nodeName) ? this.node.path : this.nodeName, {
        id: this.resource.id, fixed_ip: fixedIp, floating_ip: this.refs.floatingIpAddress, ssh: tfLiteral(this.sshCommand), shelve_at: shelveAt,
      });
      return;
    }
    if (kind !== NodeOutputs.PER_NODE) {
      throw new Error(`${this.node.path}: outputs must be NodeOutputs.PER_NODE or NodeOutputs.STACK_MAP, got '${kind}'`);
    }
    new TerraformOutput(this, 'InstanceId', { value: this.resource.id, description: tfLiteral(`Server id of ${this.nodeName}`) });
    new TerraformOutput(this, 'FixedIp', { value: fixedIp, description: tfLiteral(`Fixed IP of ${this.nodeName}`) });
    if (this.floatingIp) {
      new TerraformOutput(this, 'FloatingIpAddress', { value: this.refs.floatingIpAddress!, description: tfLiteral(`Floating IP of ${this.nodeName}`) });
    }
    new TerraformOutput(this, 'SshCommand', { value: tfLiteral(this.sshCommand), description: tfLiteral(`SSH to ${this.nodeName}`) });
    if (shelveAt !== undefined) {
      new TerraformOutput(this, 'ShelveAt', {
        value: shelveAt,
        // What brings a node back (PowerState.RUNNING) is the same for every node: in the README, not per output.
        description: tfLiteral(`When the cloud shelves ${this.nodeName} (UTC)`),
      });
    }
  }

  private addPreflight(options: PreflightOptions): void {
    addPreflight(this, {
      flavorName: this.flavor.flavorName,
      gpuCount: this.flavor.gpuCount,
      modelId: this.flavor.model?.id,
      instance: this.resource,
      checkGpus: options.gpus ?? true,
      checkQuota: options.quota ?? true,
    });
  }

  /**
   * STOPPED or PAUSED, applied with the OpenStack CLI whenever the wanted state or the server
   * changes (never at a deploy that changes neither), from any state the server is in: a shelved
   * node counts as not running and stays shelved.
   */
  private addPowerControl(powerState: PowerState, wait: boolean | ReadyWaitOptions | undefined): TerraformData {
    return new TerraformData(this, 'PowerControl', {
      triggersReplace: { server: this.resource.id, powerState: powerState.providerValue },
      provisioners: [watcherProvisioner(this, 'power', (typeof wait === 'object' ? wait.cloud : undefined) ?? 'openstack', {
        WATCH_SERVER_ID: this.resource.id,
        WATCH_NODE: tfLiteral(this.node.path),
        POWER_WANT: powerState.providerValue,
      })],
    });
  }

  private addReadyWait(options: ReadyWaitOptions, powerState: PowerState): TerraformData {
    const path = this.node.path;
    const timeout = options.timeoutMinutes ?? 45;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 24 * 60) {
      throw new Error(`${path}: waitForReady.timeoutMinutes must be a whole number from 1 to 1440 (a first boot installs for 10-30), got ${timeout}`);
    }
    const poll = options.pollIntervalSeconds ?? 20;
    if (!Number.isInteger(poll) || poll < 1 || poll > 600) {
      throw new Error(`${path}: waitForReady.pollIntervalSeconds must be a whole number from 1 to 600, got ${poll}`);
    }
    const cloud = options.cloud ?? 'openstack';
    if (!/^[\w.-]+$/.test(cloud)) {
      throw new Error(`${path}: waitForReady.cloud must be a clouds.yaml entry name such as 'openstack', got '${cloud}'`);
    }
    return new TerraformData(this, 'WaitForReady', {
      // A new server or a new power state is a new boot to wait for; a plan without either runs nothing.
      triggersReplace: { server: this.resource.id, powerState: powerState.providerValue },
      provisioners: [watcherProvisioner(this, 'ready', cloud, {
        WATCH_SERVER_ID: this.resource.id,
        WATCH_RECIPE_NAME: this.recipe.name,
        WATCH_NODE: tfLiteral(path),
        WATCH_EXPECT_STATE: powerState.providerValue,
        WATCH_TIMEOUT: `${timeout * 60}`,
        WATCH_POLL_INTERVAL: `${poll}`,
      })],
    });
  }

  private addDataVolume(options: DataVolumeOptions): blockstorageVolumeV3.BlockstorageVolumeV3 {
    // In the server's block_device (see createDataVolume): a shelved node can then be destroyed
    // or rolled out, and the volume outlives the server.
    return createDataVolume(this, this.nodeName, {
      ...options,
      // Fail closed: only an explicit DESTROY deletes (validateGpuNode refuses unknown values).
      retain: options.removalPolicy !== VolumeRemovalPolicy.DESTROY,
    });
  }
}

/**
 * Written when the server is created and changed only by a rollout (a new server): the
 * provider's update (resourceComputeInstanceV2Update, v3.4.0) runs the power_state block before
 * the metadata and tags blocks, and Nova answers 409 to metadata updates of a shelved server
 * (upstream issue #1749), so an in-place edit would fail the deploy whenever the cloud has
 * shelved the node. A resize (flavor_name) of a shelved server is refused alike, and would leave
 * the readiness check expecting the old GPUs.
 */
const SET_AT_CREATION = ['metadata', 'tags', 'flavor_name', 'flavor_id'];

function isAppliedByPowerControl(state: PowerState | undefined): boolean {
  return state === PowerState.STOPPED || state === PowerState.PAUSED;
}

function serverTimeouts(path: string, given: ServerTimeouts | undefined): computeInstanceV2.ComputeInstanceV2Timeouts {
  const minutes = (name: keyof ServerTimeouts, fallback: number): string => {
    const value = given?.[name] ?? fallback;
    if (!(Number.isInteger(value) && value >= 1 && value <= 24 * 60)) {
      throw new Error(`${path}: serverTimeouts.${name} must be a whole number of minutes from 1 to 1440, got ${value}`);
    }
    return `${value}m`;
  };
  return { create: minutes('createMinutes', 30), update: minutes('updateMinutes', 15), delete: minutes('deleteMinutes', 15) };
}

/** Whether the node makes its own security group: neither `securityGroups` nor the network gives one. */
function makesOwnGroup(props: GpuNodeProps): boolean {
  return props.securityGroups === undefined && !props.network.securityGroup;
}

/** Whether the node gets a floating IP: asked for, or by default where the network routes to the external network. */
function wantsFloatingIp(props: GpuNodeProps): boolean {
  return props.floatingIp ?? props.network.routesToExternalNetwork !== false;
}

function resolveLifetime(path: string, profile: CloudProfile, hours: number | undefined, warningHours: number | undefined): number | undefined {
  const max = profile.maxLifetimeHours;
  requireResolved(path, 'lifetimeHours', hours);
  requireResolved(path, 'lifetimeWarningHours', warningHours);
  if (hours !== undefined) {
    if (!(Number.isInteger(hours) && hours > 0 && hours <= MAX_LIFETIME_HOURS)) {
      throw new Error(`${path}: lifetimeHours must be a whole number from 1 to ${MAX_LIFETIME_HOURS} (10 years; the shelve time is ` +
        `computed with Terraform's timeadd), got ${hours}`);
    }
    if (max !== undefined && hours > max) {
      throw new Error(`${path}: lifetimeHours ${hours} exceeds the ${max} h (${max / 24} days) that cloud profile '${profile.name}' ` +
        `allows before it shelves a node; use at most ${max}`);
    }
  }
  const lifetime = hours ?? max;
  if (warningHours !== undefined && lifetime === undefined) {
    throw new Error(`${path}: lifetimeWarningHours must be given with a lifetime (the warning comes before the shelve time, and cloud ` +
      `profile '${profile.name}' sets none), got ${warningHours}; set lifetimeHours too, or leave lifetimeWarningHours out`);
  }
  if (warningHours !== undefined && !(Number.isInteger(warningHours) && warningHours >= 0 && (lifetime === undefined || warningHours < lifetime))) {
    throw new Error(`${path}: lifetimeWarningHours must be a whole number from 0 to below the lifetime (${lifetime ?? 'none'} h), got ${warningHours}`);
  }
  return lifetime;
}
