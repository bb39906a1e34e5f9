import { Fn, Lazy, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { addressMetadataKey, addressPlaceholder, gresTypeOf, SlurmClusterModel } from './slurm-config';
import { GPU_CLUSTER_OS_METADATA_PREFIX } from '../core/contract.generated';
import { credentialMetadata } from '../core/node-contract';
import { profileOrDefault } from '../cloud/default-profile';
import { ApplicationCredential, POWER_ACCESS_RULES } from '../cloud/application-credential';
import { sshConfig } from '../network/ssh-config';
import { tfLiteral } from '../core/template';
import { requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { SLURM_CLUSTER_PROPS } from '../core/validation-schemas';
import { slurmRecipeParts, slurmWorkerRecipeParts, withParts } from './slurm-recipe';
import { CloudProfile, UbuntuRelease } from '../cloud/cloud-profile';
import { GpuFlavor } from '../cloud/gpu-flavor';
import { GpuFleet } from '../fleet/gpu-fleet';
import { GpuModel } from '../cloud/gpu-model';
import { GpuNetwork, INetwork } from '../network/gpu-network';
import { GpuNode } from '../node/gpu-node';
import { GpuRecipe } from '../recipe/gpu-recipe';
import { IKeyPair } from '../network/key-pair';
import { NodeImage } from '../image/node-image';
import { SecurityGroup } from '../network/security-group';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';
import { checkClusterName, checkWorkerGroups, mergedMetadata, powerSavingSettings, readyTimeoutMinutes } from './slurm-props';
import { GpuNodeOptions } from '../node/gpu-node-options';
import { Connections, IConnectable, Peer } from '../network/peer';
import { nodeProfile } from '../network/node-profile';

/**
 * One group of identical GPU workers: a Slurm partition and a `GpuFleet`. Every node option
 * (`GpuNodeOptions`: `rolloutToken`, `tags`, `dataVolume`, ...) applies to each worker of the group;
 * the cluster decides the rest (network, image, recipe, keypair, security groups, no floating IP).
 */
export interface SlurmWorkerGroupOptions extends GpuNodeOptions {
  /** The partition's name, e.g. `gpu`; also part of the workers' names. */
  readonly partition: string;
  /** The workers' flavor, e.g. `GpuFlavor.of(GpuModel.RTX_2080_TI, 2)`. */
  readonly flavor: GpuFlavor;
  /** How many workers. */
  readonly count: number;
}

/**
 * Slurm's power saving: idle workers are shelved (their GPUs go back to the cloud) and unshelved when
 * jobs need them. The head calls the OpenStack API with an application credential the stack creates.
 */
export interface SlurmPowerSavingOptions {
  /** Keystone's v3 URL for the head's OpenStack CLI, e.g. `https://cloud.example:5000/v3`. */
  readonly authUrl: string;
  /**
   * The region of the compute API.
   * @default - the cloud's only region
   */
  readonly region?: string;
  /**
   * Idle minutes before a worker is shelved (Slurm's SuspendTime).
   * @default 30
   */
  readonly suspendAfterMinutes?: number;
  /**
   * Minutes from a job asking for a shelved worker to its slurmd registering (Slurm's ResumeTimeout):
   * Nova's unshelve (scheduling, the PCI-passthrough spawn, for a disk from an image the shelve
   * snapshot's download: 2-10 minutes) plus the boot and the node's every-boot steps (driver check,
   * GPU check: 1-3 minutes; a kernel update's driver rebuild up to 10). After it the node goes DOWN
   * and the job is requeued.
   * @default 20
   */
  readonly resumeTimeoutMinutes?: number;
  /**
   * Minutes a shelve may take (Slurm's SuspendTimeout): the guest's shutdown (Nova's
   * shutdown_timeout, 60 s by default), for a disk from an image the snapshot's upload, the offload.
   * @default 10
   */
  readonly suspendTimeoutMinutes?: number;
  /**
   * The Keystone roles the credential carries on the project: the least a shelve and an unshelve need
   * under Nova's default policy (`os_compute_api:os-shelve:shelve` and `:unshelve` are
   * PROJECT_MEMBER_OR_ADMIN). The deploying user must have them. Named rather than inherited from
   * the deploying user's token, so an admin's deploy does not hand the head an admin credential.
   * @default ['member']
   */
  readonly roles?: string[];
}

/** Properties of a `SlurmCluster`. */
export interface SlurmClusterProps {
  /** The worker groups, one partition each. */
  readonly workerGroups: SlurmWorkerGroupOptions[];
  /**
   * Node options of the head (`rolloutToken`, `tags`, `rootVolumeSizeGiB`, ...); the cluster decides the rest.
   * @default - none
   */
  readonly headOptions?: GpuNodeOptions;
  /**
   * The cluster's name: Slurm's `ClusterName` and the prefix of every node's name (lower-case, it
   * becomes host names).
   * @default - derived from the construct id
   */
  readonly clusterName?: string;
  /**
   * The head's flavor. The head runs slurmctld, munge and the NFS server; its GPU is not in Slurm.
   * @default GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1) - the smallest flavor of HFD NetLab, whose profile lists GPU flavors only
   */
  readonly headFlavor?: GpuFlavor;
  /**
   * An existing network for every node instead of a new one (`GpuNetwork.fromName`, `GpuNetwork.forUser`).
   * Neutron then picks each node's address; every node's server metadata carries all nodes' addresses
   * (the node contract's `GPU_CLUSTER_ADDRESS_METADATA_PREFIX` and the node's name: Terraform references to the nodes' ports, which exist before any
   * server), and the setup scripts write them into the Slurm files at boot.
   * @default - a new `GpuNetwork` with fixed addresses for the nodes
   */
  readonly network?: INetwork;
  /**
   * The cluster network's subnet (a new network only). The highest addresses are the nodes' fixed
   * addresses (the head's is the lowest of them); Neutron's pool keeps the rest.
   * @default '10.42.0.0/24'
   */
  readonly cidr?: string;
  /**
   * Who may SSH to the head (the only node with a floating IP); workers are reached through it.
   * @default - no SSH rule
   */
  readonly sshFrom?: Peer[];
  /**
   * The cloud. A `network` made for another cloud is an error.
   * @default - the profile of `network` where it has one, else CloudProfile.HFD_NETLAB
   */
  readonly cloudProfile?: CloudProfile;
  /**
   * The Ubuntu release of every node; decides the Slurm release (21.08 on 22.04, 23.11 on 24.04).
   * @default UbuntuRelease.JAMMY_22_04
   */
  readonly release?: UbuntuRelease;
  /**
   * The GPU software of every node (driver, CUDA, container toolkit, packages); the cluster adds the
   * Slurm files and the setup command to it.
   * @default new GpuRecipe()
   */
  readonly recipe?: GpuRecipe;
  /**
   * The key pair for every node.
   * @default - none (no SSH login)
   */
  readonly keyPair?: IKeyPair;
  /**
   * Make `cdktf deploy` wait for the head's ready line, which comes after `GPU-CLUSTER-READY` (for up to
   * 45 minutes plus `readyTimeoutMinutes`); a `GPU-CLUSTER-FAILED` fails the deploy with its reason.
   * @default false
   */
  readonly waitForReady?: boolean;
  /**
   * How long the head waits for every worker and the test job before it reports `GPU-CLUSTER-FAILED`.
   * @default 30
   */
  readonly readyTimeoutMinutes?: number;
  /**
   * Give idle GPUs back: shelve workers idle for `suspendAfterMinutes`, unshelve them for jobs.
   * Creates a Keystone application credential restricted to the compute API's server show, shelve
   * and unshelve; its secret reaches the head through the head's server metadata (see the README,
   * "Giving GPUs back").
   * @default - off: the workers run until the cloud shelves them
   */
  readonly powerSaving?: SlurmPowerSavingOptions;
}

/** Slurm's release in each Ubuntu archive (packages slurmctld/slurmd). */
const SLURM_OF_RELEASE: { [release: string]: string } = {
  [UbuntuRelease.JAMMY_22_04]: '21.08',
  [UbuntuRelease.NOBLE_24_04]: '23.11',
};

/**
 * A Slurm GPU cluster: a head node (slurmctld, munge, NFS server for `/shared`, the only floating IP)
 * and worker groups (a `GpuFleet` each: slurmd, NFS client, one partition each) on a new network.
 * The head prints `GPU-CLUSTER-READY ...` on its console when every worker is idle with its GPUs and a
 * test job ran, or `GPU-CLUSTER-FAILED ... reason="..."`. The munge key is made by the head at boot:
 * it is in no synthesized file and no Terraform state.
 */
export class SlurmCluster extends Construct implements IConnectable {
  /** The cluster's network: the new `GpuNetwork`, or the `network` given. */
  public readonly network: INetwork;
  /** The head node. */
  public readonly head: GpuNode;
  /** The worker groups, in the order of `workerGroups`. */
  public readonly workerFleets: GpuFleet[];
  /** The group every node of the cluster is in: all traffic between them (slurmctld, slurmd, srun, NFS). */
  public readonly membersGroup: SecurityGroup;
  /** The cluster's name. */
  public readonly clusterName: string;
  /** The Slurm release the nodes' image ships. */
  public readonly slurmVersion: string;
  /** `Host` blocks for `~/.ssh/config`: the head, and every worker through the head (`ProxyJump`). */
  public readonly sshConfig: string;

  /**
   * The rules of the group every node of the cluster is in (`membersGroup`): `cluster.connections.allowFrom(peer,
   * port)` opens the port on the head and every worker. (Its members already reach each other on every port.)
   */
  public get connections(): Connections {
    return this.membersGroup.connections;
  }

  constructor(scope: Construct, id: string, props: SlurmClusterProps) {
    super(checkedScope(scope, id, 'SlurmCluster'), id);
    guardRetainedVolumes(this);
    const path = this.node.path;
    checkProps(path, 'SlurmClusterProps', props, SLURM_CLUSTER_PROPS);
    requireKnown(path, 'clusterName', props.clusterName, 'the prefix of the host names written into slurm.conf at synth');
    this.clusterName = props.clusterName ?? id.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    checkClusterName(path, this.clusterName);
    const groups = props.workerGroups ?? [];
    checkWorkerGroups(path, groups);
    const release = props.release ?? UbuntuRelease.JAMMY_22_04;
    this.slurmVersion = SLURM_OF_RELEASE[release];
    if (!this.slurmVersion) throw new Error(`${path}: release must be an UbuntuRelease, got '${release}'`);
    const timeout = readyTimeoutMinutes(path, props.readyTimeoutMinutes);
    const profile = props.network ? nodeProfile(path, props.cloudProfile, props.network) : profileOrDefault(props.cloudProfile);
    const power = props.powerSaving;
    const powerSaving = powerSavingSettings(path, power);
    // A job longer than the nodes' lifetime is cut by the cloud's shelve: no partition takes one.
    const lifetimeHours = profile.maxLifetimeHours;
    const headFlavor = props.headFlavor ?? GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1);
    const resolved = groups.map((g) => g.flavor._resolve(`${path}/${g.partition}`, profile));

    const workerCount = groups.reduce((n, g) => n + g.count, 0);
    const headName = `${this.clusterName}-head`;
    const workerNames = groups.flatMap((g) => Array.from({ length: g.count }, (_, k) => `${this.clusterName}-${g.partition}-${k + 1}`));
    // Nodes by name, filled below: on an existing network their ports give the addresses.
    const nodesByName = new Map<string, GpuNode>();
    let headAddress: string;
    let workerAddresses: string[];
    let headGroup: SecurityGroup;
    let addressMetadata: { [key: string]: string } | undefined;
    if (props.network) {
      if (props.cidr !== undefined) {
        throw new Error(`${path}: cidr applies only to a new network, but network is given, got '${props.cidr}'; leave cidr out`);
      }
      this.network = props.network;
      // Placeholders in user_data (which must be known at synth, and stays the same for every worker),
      // the real addresses in each server's metadata: `${element(<port>.all_fixed_ips, 0)}`, resolved
      // lazily as the ports exist only once the nodes do. No cycle: ports depend on the network and
      // security groups only; servers on ports.
      headAddress = addressPlaceholder(headName);
      workerAddresses = workerNames.map(addressPlaceholder);
      addressMetadata = Object.fromEntries([headName, ...workerNames].map((name) => [addressMetadataKey(name), Lazy.stringValue({
        produce: () => {
          const node = nodesByName.get(name);
          if (!node) throw new Error(`${path}: no node named ${name}`);
          return Fn.element(node.port.allFixedIps, 0);
        },
      })]));
      headGroup = new SecurityGroup(this, 'HeadAccess', {
        securityGroupName: `${this.clusterName}-head-access`,
        description: `SSH to the head of Slurm cluster ${this.clusterName}, managed by cdktf (${path})`,
        sshFrom: props.sshFrom,
      });
    } else {
      const network = new GpuNetwork(this, 'Network', {
        networkName: `${this.clusterName}-net`,
        cidr: props.cidr,
        cloudProfile: profile,
        sshFrom: props.sshFrom,
        fixedAddressCount: 1 + workerCount,
      });
      this.network = network;
      [headAddress, ...workerAddresses] = network.fixedAddresses();
      headGroup = network.nodeSecurityGroup;
    }
    const fixed = props.network === undefined;
    this.membersGroup = new SecurityGroup(this, 'Members', {
      securityGroupName: `${this.clusterName}-members`,
      description: `Slurm cluster ${this.clusterName}: head and workers reach each other, managed by cdktf (${path})`,
      allowMembers: true,
    });

    let next = 0;
    const model: SlurmClusterModel = {
      // Slurm's ClusterName names accounting tables: '_' where host names have '-'.
      clusterName: this.clusterName.replace(/-/g, '_'),
      head: { name: headName, address: headAddress },
      slurmVersion: this.slurmVersion,
      readyTimeoutSeconds: timeout * 60,
      powerSaving,
      maxTimeMinutes: lifetimeHours !== undefined ? lifetimeHours * 60 : undefined,
      groups: groups.map((g, i) => {
        const model = resolved[i].model;
        if (!model) {
          throw new Error(`${path}: workerGroups[${i}].flavor must name its GPU model (GpuFlavor.of, or named with a model), ` +
            'as Slurm lists GPUs by type');
        }
        return {
          partition: g.partition,
          gpuType: gresTypeOf(model.id),
          gpusPerNode: resolved[i].gpuCount,
          nodes: Array.from({ length: g.count }, () => ({ name: workerNames[next], address: workerAddresses[next++] })),
        };
      }),
    };
    const base = props.recipe ?? new GpuRecipe();
    const image = NodeImage.ubuntu(release);

    // Power saving: the application credential, and the head's metadata that carries it (a reference
    // in cdk.tf.json, the secret in Terraform state only).
    let headMetadata = addressMetadata;
    if (power) {
      const credential = new ApplicationCredential(this, 'PowerCredential', {
        name: `${this.clusterName}-power-saving`,
        description: `Slurm cluster ${this.clusterName}: shelve and unshelve idle workers, managed by cdktf (${path})`,
        lifetimeHours,
        roles: power.roles ?? ['member'],
        accessRules: POWER_ACCESS_RULES,
      });
      headMetadata = {
        ...addressMetadata,
        ...credentialMetadata(GPU_CLUSTER_OS_METADATA_PREFIX, {
          auth_url: power.authUrl, region: power.region, credential_id: credential.id, credential_secret: credential.secret,
        }),
      };
    }

    this.head = new GpuNode(this, 'Head', {
      ...props.headOptions,
      nodeName: model.head.name,
      flavor: headFlavor,
      network: this.network,
      cloudProfile: profile,
      image,
      keyPair: props.keyPair,
      recipe: withParts(base, `${base.name}-slurm-head`, slurmRecipeParts(model, model.head.name)),
      securityGroups: [headGroup, this.membersGroup],
      fixedIpAddress: fixed ? headAddress : undefined,
      metadata: mergedMetadata(props.headOptions?.metadata, headMetadata),
      // The head's ready line comes after its own install (a node's usual 45 min) and the cluster's wait.
      waitForReady: props.waitForReady ? { timeoutMinutes: 45 + timeout } : undefined,
    });
    const workerRecipe = withParts(base, `${base.name}-slurm-worker`, slurmWorkerRecipeParts(model));
    this.workerFleets = groups.map(({ partition, flavor, count: _count, ...nodeOptions }, i) => new GpuFleet(this, `Workers-${partition}`, {
      ...nodeOptions,
      fleetName: `${this.clusterName}-${partition}`,
      nodeNames: model.groups[i].nodes.map((n) => n.name),
      fixedIpAddresses: fixed ? model.groups[i].nodes.map((n) => n.address) : undefined,
      metadata: mergedMetadata(nodeOptions.metadata, addressMetadata),
      flavor,
      network: this.network,
      cloudProfile: profile,
      image,
      keyPair: props.keyPair,
      recipe: workerRecipe,
      securityGroups: [this.membersGroup],
      floatingIp: false,
      // From outside only through the head: each worker's SshCommand jumps, and the cluster's
      // SshConfig (below) is the one ssh config for all of them.
      sshProxyJump: `${this.head.loginUser}@${this.head.address}`,
      sshConfigOutput: false,
    }));

    nodesByName.set(this.head.nodeName, this.head);
    for (const fleet of this.workerFleets) for (const n of fleet.nodes) nodesByName.set(n.nodeName, n);

    const identity = props.keyPair?.privateKeyHint;
    const user = this.head.loginUser;
    this.sshConfig = sshConfig([
      { name: model.head.name, address: this.head.address, user, identityFile: identity },
      ...model.groups.flatMap((g) => g.nodes.map((n) => ({
        name: n.name,
        // The port's address where the model holds a placeholder (an existing network).
        address: fixed ? n.address : Fn.element(nodesByName.get(n.name)!.port.allFixedIps, 0),
        user, identityFile: identity, jumpHost: model.head.name,
      }))),
    ]);
    new TerraformOutput(this, 'SshConfig', {
      value: tfLiteral(this.sshConfig),
      description: tfLiteral(`~/.ssh/config entries for ${this.clusterName}: the head, and the workers through it`),
    });
    new TerraformOutput(this, 'HeadSsh', { value: tfLiteral(this.head.sshCommand), description: tfLiteral(`ssh to the head of ${this.clusterName}`) });
    const first = model.groups[0];
    new TerraformOutput(this, 'ExampleSbatch', {
      value: tfLiteral(`sbatch -p ${first.partition} -N ${first.nodes.length} --gres=gpu:${first.gpusPerNode} --wrap 'srun nvidia-smi -L'`),
      description: 'an example job, run on the head',
    });
  }
}
