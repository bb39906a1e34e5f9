// The props of a GPU node, declared once: `GpuNodeOptions` (the settings of a node, whoever builds it)
// <- `GpuNodeBaseProps` (what a node or a fleet of nodes is built from) <- `GpuNodeProps` (one node's
// identity). `GpuFleetProps` extends `GpuNodeBaseProps` and a Slurm worker group `GpuNodeOptions`, so
// every option here reaches every node they make.
import { CloudProfile } from '../cloud/cloud-profile';
import { DataVolumeOptions } from './data-volume';
import { GpuFlavor } from '../cloud/gpu-flavor';
import { INetwork } from '../network/gpu-network';
import { GpuRecipe } from '../recipe/gpu-recipe';
import { IKeyPair } from '../network/key-pair';
import { INodeImage } from '../image/node-image';
import { NodeOutputs } from './node-outputs';
import { Peer, ISecurityGroup } from '../network/peer';
import { PowerState } from './power-state';
import { IngressRule } from '../network/security-group';
import { IServerGroup } from './server-group';

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

/**
 * The settings of a GPU node that do not depend on who builds it: a `GpuNode`, each node of a
 * `GpuFleet`, each worker of a `SlurmCluster` group (`SlurmWorkerGroupOptions`) and the cluster's head
 * (`SlurmClusterProps.headOptions`) take them alike.
 */
export interface GpuNodeOptions {
  /**
   * Any string; setting, changing or removing it replaces the node (its port, floating IP and data volume stay).
   * On a fleet or a worker group it rolls out every node of it. A node deployed by 0.1 without a token:
   * deploy once with this release first (that adds the node's rollout trigger and changes nothing else),
   * then set the token.
   * @default - none
   */
  readonly rolloutToken?: string;
  /**
   * Replace the node when its recipe, image, keypair, flavor or root disk changes. Off by default, so that
   * an edit never silently destroys a running node and its disk; change `rolloutToken` to move a
   * node onto a new image on purpose. (An image change is always a replacement, never the
   * provider's in-place rebuild, which would wipe the root disk under the same server.)
   * @default false
   */
  readonly replaceOnChange?: boolean;
  /**
   * Server metadata (key/value). Written when the server is created; an edit takes effect at
   * the node's next rollout (Nova refuses metadata updates of a shelved node). Values may be
   * Terraform references. The library's own keys (and a cluster's) take precedence.
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
   * Warn logged-in users this many hours before the shelve time.
   * @default 24
   */
  readonly lifetimeWarningHours?: number;
  /**
   * Boot from a new volume of this size (GiB) instead of the flavor's disk; deleted with the node.
   * @default - the flavor's root disk
   */
  readonly rootVolumeSizeGiB?: number;
  /**
   * A data volume attached to the node; it stays when the node is replaced. A fleet or a worker
   * group gives each node its own, named `<node>-data` (there `existingVolumeId` and `volumeName`,
   * which would be the same for every node, are refused).
   * @default - none
   */
  readonly dataVolume?: DataVolumeOptions;
  /**
   * How long a deploy waits for the server to be created, change power state or be deleted.
   * @default - create 30, update 15, delete 15 minutes
   */
  readonly serverTimeouts?: ServerTimeouts;
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
}

/**
 * What a GPU node is built from, for one node (`GpuNodeProps`) or every node of a fleet (`GpuFleetProps`),
 * besides the settings of `GpuNodeOptions`.
 */
export interface GpuNodeBaseProps extends GpuNodeOptions {
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
   * The cloud-init recipe (a fleet renders it once for all its nodes).
   * @default - `new GpuRecipe()`: driver 580 (open modules), CUDA 13.0, Docker with the NVIDIA container toolkit
   */
  readonly recipe?: GpuRecipe;
  /**
   * Peers that may SSH to the node, in the security group the node (or fleet) makes; with a network
   * that brings its own group, give `sshFrom` to the network, or use `connections.allowFrom(peer, Port.SSH)`.
   * @default - no SSH rule
   */
  readonly sshFrom?: Peer[];
  /**
   * Further ports to open in the security group the node (or fleet) makes: `{ port: Port.JUPYTER }`
   * opens to the `sshFrom` peers, `{ port, peers: [Peer.securityGroup(other)] }` to the members of
   * another group. `connections.allowFrom()` does the same after construction, whoever owns the group.
   * @default - none
   */
  readonly ingress?: IngressRule[];
  /**
   * Give the node a floating IP from the profile's external network. A network without a router to the
   * external network (`GpuNetwork` with `router: false`) cannot carry one: asking for it there is an error.
   * @default - true, unless the network has no router to the external network
   */
  readonly floatingIp?: boolean;
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
   * Hours until the cloud shelves the node; at most the profile's limit. Recorded in the
   * server's metadata at creation, so an edit applies from the next rollout.
   * @default - the profile's `maxLifetimeHours` (168 on HFD NetLab); none if the profile has no limit
   */
  readonly lifetimeHours?: number;
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
   * Reach the node through this host (`user@address`, as ssh's `-J` takes it), e.g. a cluster's
   * head for workers without a floating IP: the node's `SshCommand` becomes `ssh -J <host> ...`
   * (and a fleet's `SshConfig` gives each node a `ProxyJump`).
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
   * Give idle GPUs back: the node shelves its own server once it has been idle for
   * `afterHours`, printing a `GPU-NODE-IDLE-SHELVE ... reason="..."` line on its console first and
   * adding the reason to its status.json. Creates a Keystone application credential restricted to the
   * compute API's server show and server actions; its secret reaches the node through the server
   * metadata (see the README, "Idle shelve of a GpuNode"). Written at the server's creation, like
   * `metadata`: turning it on for a running node takes effect at its next rollout. A fleet gives each
   * node its own credential.
   * @default - off: the node runs until the cloud shelves it
   */
  readonly idleShelve?: IdleShelveOptions;
}

/** Properties of a `GpuNode`: what it is built from (`GpuNodeBaseProps`) and what only one node has. */
export interface GpuNodeProps extends GpuNodeBaseProps {
  /**
   * The server name in the cloud.
   * @default - derived from the construct path
   */
  readonly nodeName?: string;
  /**
   * The node's address on the network's subnet, e.g. one of `GpuNetwork.fixedAddresses()`; nodes that
   * must know each other's addresses at synth (a `SlurmCluster`) use it.
   * @default - Neutron picks one from the subnet's allocation pool
   */
  readonly fixedIpAddress?: string;
  /**
   * Security groups of the node's port, instead of the default ones (`node.connections` adds the
   * node's own group to them when it needs one).
   * @default - the network's security group, or else a new one that allows SSH only from `sshFrom`
   */
  readonly securityGroups?: ISecurityGroup[];
  /**
   * The Nova server group the node joins at creation (the `group` scheduler hint; changing it
   * replaces the server).
   * @default - none
   */
  readonly serverGroup?: IServerGroup;
  /**
   * Seal the node for a snapshot once ready and power it off (used by `SnapshotImage`).
   * @default false
   */
  readonly sealForSnapshot?: boolean;
}
