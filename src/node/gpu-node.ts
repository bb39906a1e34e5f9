import { Annotations, Fn, Op, TerraformResource, Token } from 'cdktf';
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
import { addNodeOutputs } from './node-map-output';
import { nameOrDefault } from '../core/names';
import { nodeMetadataKey } from '../core/node-contract';
import { tfLiteral, tfLiteralMap } from '../core/validation';
import { checkSoftware } from '../recipe/recipe-rules';
import { validateGpuNode } from './gpu-node-validation';
import { addPreflight, noteFlavorOutsideProfile, preflightEnabledByContext } from './preflight';
import { TerraformData } from '../core/terraform-data';
import { userDataArgument } from '../recipe/user-data';
import { addPowerControl, addReadyWait } from '../core/watch-script';
import { checkProxyJump } from '../network/ssh-config';
import { CloudProfile, UbuntuRelease } from '../cloud/cloud-profile';
import { DataVolumeOptions, VolumeRemovalPolicy } from './data-volume';
import { ResolvedGpuFlavor } from '../cloud/gpu-flavor';
import { nodeProfile } from '../network/node-profile';
import { GpuRecipe } from '../recipe/gpu-recipe';
import { RenderedUserData } from '../recipe/recipe-options';
import { NodeImage, NodeImageConfig } from '../image/node-image';
import { NodeOutputs } from './node-outputs';
import { Connections, IConnectable, ISecurityGroup } from '../network/peer';
import { PowerState } from './power-state';
import { SecurityGroup } from '../network/security-group';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';
import { checkNodePlacement, makesOwnGroup, resolveLifetime, serverTimeouts, wantsFloatingIp } from './node-settings';
import { GpuNodeProps, PreflightOptions } from './gpu-node-options';
import { addIdleShelveCredential, idleShelveHours } from './idle-shelve';

/**
 * A GPU node: an OpenStack server with PCI-passthrough NVIDIA GPUs, booted with a cloud-init
 * recipe that installs the driver, CUDA and the container toolkit, with a port in the given
 * network, a floating IP and outputs for SSH.
 */
export class GpuNode extends Construct implements IConnectable {
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
   * References the node uses more than once, taken once: each access of an L1 attribute makes a new
   * token, and cdktf keeps every token (with its creation stack) for the life of the process.
   */
  private readonly refs: { portId?: string; floatingIpAddress?: string } = {};
  /** The node's own group (made at construction, or by `connections`), and the groups of its port. */
  private readonly access: { own?: SecurityGroup; groups: ISecurityGroup[]; connections?: Connections } = { groups: [] };

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
    const idleHours = idleShelveHours(this.node.path, props.idleShelve);
    this.userData = this.renderUserData(props, idleHours);

    this.port = this.createAccess(props);
    this.refs.portId = this.port.id;
    const triggers = this.createReplacementTriggers(props);
    if (props.idleShelve) {
      const idle = addIdleShelveCredential(this, this.nodeName, this.lifetimeHours, props.idleShelve);
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
      const wait = props.waitForReady;
      this.powerControl = addPowerControl(this, { serverId: this.resource.id, powerState: powerState.providerValue,
        cloud: (typeof wait === 'object' ? wait.cloud : undefined) ?? 'openstack' });
    }
    if (props.waitForReady) {
      this.readyWait = addReadyWait(this, props.waitForReady === true ? {} : props.waitForReady,
        { serverId: this.resource.id, recipeName: this.recipe.name, powerState: powerState.providerValue });
    }

    const fixedIp = Fn.element(this.port.allFixedIps, 0);
    this.address = this.floatingIp ? this.refs.floatingIpAddress! : fixedIp;
    const jump = checkProxyJump(this.node.path, 'sshProxyJump', props.sshProxyJump);
    this.sshCommand = `ssh -i ${props.keyPair?.privateKeyHint ?? '<no keypair>'} ${jump ? `-J ${jump} ` : ''}${this.loginUser}@${this.address}`;
    addNodeOutputs(this, props.outputs ?? NodeOutputs.PER_NODE, {
      nodeName: this.nodeName, id: this.resource.id, fixedIp, floatingIp: this.floatingIp ? this.refs.floatingIpAddress : undefined,
      ssh: this.sshCommand, shelveAt: triggers.metadata[nodeMetadataKey('shelve_at')],
    });
  }

  /**
   * The node's own security group: made at construction when neither `securityGroups` nor the network
   * gives one, or by `connections`; undefined until then.
   */
  public get securityGroup(): SecurityGroup | undefined {
    return this.access.own;
  }

  /** Every security group on the node's port. */
  public get securityGroups(): ISecurityGroup[] {
    return [...this.access.groups];
  }

  /**
   * The node's rules, whoever owns its other groups: `node.connections.allowFrom(Peer.ipv4('10.0.0.0/8'),
   * Port.JUPYTER)`, `node.connections.allowFrom(otherNode, Port.tcp(29500))`. They go into the node's own
   * group, so they open this node only; a node that has none (its groups come from the network or
   * `securityGroups`) gets one, `<nodeName>-access`, on its port.
   */
  public get connections(): Connections {
    if (!this.access.connections) {
      this.access.connections = new Connections({ securityGroups: [this.ownGroup()] });
    }
    return this.access.connections;
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
    checkNodePlacement(path, props, profile);
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
  private createAccess(props: GpuNodeProps): networkingPortV2.NetworkingPortV2 {
    if (makesOwnGroup(props)) {
      this.access.groups = [this.newOwnGroup(props)];
    } else {
      this.access.groups = [...(props.securityGroups ?? [props.network.securityGroup!])];
    }
    if (!props.keyPair) {
      Annotations.of(this).addWarning(`${this.node.path}: no keyPair given, so nobody can log in with SSH`);
    }
    return new networkingPortV2.NetworkingPortV2(this, 'Port', {
      name: tfLiteral(`${this.nodeName}-port`),
      networkId: props.network.networkId,
      adminStateUp: true,
      fixedIp: [{ subnetId: props.network.subnetId, ipAddress: props.fixedIpAddress }],
      securityGroupIds: this.access.groups.map((g) => g.securityGroupId),
    });
  }

  private newOwnGroup(props?: GpuNodeProps): SecurityGroup {
    return this.access.own = new SecurityGroup(this, 'SecurityGroup', {
      securityGroupName: `${this.nodeName}-access`,
      sshFrom: props?.sshFrom,
      ingress: props?.ingress,
    });
  }

  /**
   * The node's own group; made and added to the port where the node has none yet. The port's
   * security_group_ids is updated in place (resourceNetworkingPortV2Update), so a deployed node keeps
   * its port, address and server.
   */
  private ownGroup(): SecurityGroup {
    if (this.access.own) return this.access.own;
    const own = this.newOwnGroup();
    this.access.groups.push(own);
    this.port.securityGroupIds = this.access.groups.map((g) => g.securityGroupId);
    return own;
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
      [nodeMetadataKey('recipe_name')]: this.recipe.name,
      [nodeMetadataKey('recipe_key')]: this.recipeKey,
      [nodeMetadataKey('gpus')]: gpuSummary(this.flavor),
      [nodeMetadataKey('started_at')]: startTime,
    };
    if (this.lifetimeHours !== undefined) {
      metadata[nodeMetadataKey('lifetime_hours')] = `${this.lifetimeHours}`;
      metadata[nodeMetadataKey('shelve_at')] = `\${timeadd(${started}, "${this.lifetimeHours}h")}`;
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
          // STOPPED and PAUSED are applied by the power control (addPowerControl, watch-script.ts), not the provider:
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
