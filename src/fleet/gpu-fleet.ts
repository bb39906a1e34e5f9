import { TerraformOutput, Token } from 'cdktf';
import { Construct } from 'constructs';
import { nameOrDefault } from '../core/names';
import { sshConfig } from '../network/ssh-config';
import { tfLiteral } from '../core/template';
import { duplicates, fail, renderValue, requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { GPU_FLEET_PROPS } from '../core/validation-schemas';
import { GpuNode } from '../node/gpu-node';
import { SecurityGroup } from '../network/security-group';
import { ServerGroup, ServerGroupPolicy } from '../node/server-group';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';
import { GpuNodeBaseProps } from '../node/gpu-node-options';
import { Connections, IConnectable, ISecurityGroup } from '../network/peer';

/** The most nodes one fleet makes (a guard against a typo such as 100 for 10). */
const MAX_FLEET_NODES = 64;

/**
 * Props of `GpuFleet`: every node option (`GpuNodeBaseProps`, `GpuNodeOptions`) for all its nodes, how
 * many, and where Nova places them.
 */
export interface GpuFleetProps extends GpuNodeBaseProps {
  /**
   * How many nodes, named `<fleetName>-1` ... `<fleetName>-<count>`. Give `count` or `nodeNames`.
   * @default - the length of `nodeNames`
   */
  readonly count?: number;
  /**
   * The nodes' server names; removing one leaves the others alone (they are keyed by name, not position).
   * @default - `count` nodes named `<fleetName>-<n>`
   */
  readonly nodeNames?: string[];
  /**
   * One fixed address per node, in node order (see `GpuNetwork.fixedAddresses()`).
   * @default - Neutron picks each node's address
   */
  readonly fixedIpAddresses?: string[];
  /**
   * Further security groups for every node, besides the fleet's own and the network's (a
   * `SlurmCluster` adds the group that its head and all its workers share).
   * @default - none
   */
  readonly securityGroups?: ISecurityGroup[];
  /**
   * The prefix of node names and the name of the server group and security group.
   * @default - derived from the construct path
   */
  readonly fleetName?: string;
  /**
   * Where Nova places the nodes.
   * @default ServerGroupPolicy.SOFT_ANTI_AFFINITY - spread over hosts where it can (GPU hosts are few)
   */
  readonly policy?: ServerGroupPolicy;
  /**
   * With `ServerGroupPolicy.ANTI_AFFINITY` only: at most this many nodes on one host.
   * @default - 1
   */
  readonly maxServerPerHost?: number;
  /**
   * Write the `SshConfig` output. A `SlurmCluster` turns it off for its workers: the cluster's own
   * `SshConfig` holds them with the head.
   * @default true
   */
  readonly sshConfigOutput?: boolean;
}

/**
 * N identical GPU nodes: one recipe rendered once, one Nova server group (soft-anti-affinity by
 * default) that every node joins, and one security group whose members reach each other on every
 * port (for NCCL, MPI, Slurm), with SSH from `sshFrom` or the network's group. Outputs: each
 * node's own, plus `SshConfig`, an `~/.ssh/config` block for all nodes.
 */
export class GpuFleet extends Construct implements IConnectable {
  /** The nodes, in the order of `nodeNames` (or 1..count). */
  public readonly nodes: GpuNode[];
  /** The Nova server group every node joins. */
  public readonly serverGroup: ServerGroup;
  /** The fleet's own group: member-to-member traffic, SSH and `ingress`. */
  public readonly securityGroup: SecurityGroup;
  /** The prefix of node names and the name of the server group. */
  public readonly fleetName: string;
  /** `Host` blocks for every node, for `~/.ssh/config`. */
  public readonly sshConfig: string;

  /**
   * The rules of the fleet's own group, which every node is in: `fleet.connections.allowFrom(peer,
   * Port.JUPYTER)` opens the port on every node. Its members already reach each other on every port
   * (so `allowInternally` adds no rule there).
   */
  public get connections(): Connections {
    return this.securityGroup.connections;
  }

  constructor(scope: Construct, id: string, props: GpuFleetProps) {
    super(checkedScope(scope, id, 'GpuFleet'), id);
    guardRetainedVolumes(this);
    const path = this.node.path;
    checkProps(path, 'GpuFleetProps', props, GPU_FLEET_PROPS);
    this.fleetName = nameOrDefault(path, 'fleetName', props.fleetName);
    checkHostName(path, 'fleetName', this.fleetName);
    const names = fleetNodeNames(path, this.fleetName, props.count, props.nodeNames);
    if (props.dataVolume?.existingVolumeId !== undefined) {
      throw new Error(`${path}: dataVolume.existingVolumeId would attach one volume to every node, got '${props.dataVolume.existingVolumeId}'; ` +
        'give the volume to one GpuNode instead');
    }
    if (props.dataVolume?.volumeName !== undefined) {
      throw new Error(`${path}: dataVolume.volumeName would give every node's volume the same name, got '${props.dataVolume.volumeName}'; ` +
        'leave it out (each volume is named <node>-data)');
    }
    const networkGroup = props.network.securityGroup;
    if (networkGroup && props.sshFrom) {
      throw new Error(`${path}: sshFrom applies only when the network brings no security group, but it brings one; ` +
        'give sshFrom to the GpuNetwork, or open SSH on this fleet alone with fleet.connections.allowFrom(peer, Port.SSH)');
    }

    this.serverGroup = new ServerGroup(this, 'ServerGroup', {
      serverGroupName: this.fleetName,
      policy: props.policy,
      maxServerPerHost: props.maxServerPerHost,
    });
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      securityGroupName: `${this.fleetName}-members`,
      description: `GPU fleet members, managed by cdktf (${path})`,
      sshFrom: props.sshFrom,
      ingress: props.ingress,
      allowMembers: true,
    });
    const securityGroups: ISecurityGroup[] = [...(networkGroup ? [networkGroup] : []), this.securityGroup, ...(props.securityGroups ?? [])];

    if (props.fixedIpAddresses !== undefined && props.fixedIpAddresses.length !== names.length) {
      throw new Error(`${path}: fixedIpAddresses must give one address per node (${names.length}), got ${props.fixedIpAddresses.length}`);
    }
    const sameAddress = duplicates((props.fixedIpAddresses ?? []).filter((a) => !Token.isUnresolved(a)));
    if (sameAddress.length > 0) {
      fail(path, 'fixedIpAddresses', 'distinct addresses (Neutron gives an address to one port only)', sameAddress[0],
        'Give each node its own address, e.g. from network.fixedAddresses()');
    }
    // Every node option passes through as given; only what is the fleet's own stays here.
    const {
      count: _count, nodeNames: _names, fixedIpAddresses, securityGroups: _groups, fleetName: _fleetName, policy: _policy,
      maxServerPerHost: _max, sshConfigOutput: _sshConfig, sshFrom: _sshFrom, ingress: _ingress, ...nodeOptions
    } = props;
    this.nodes = names.map((nodeName, i) => new GpuNode(this, nodeName.replace(/\//g, '-'), {
      ...nodeOptions,
      nodeName,
      fixedIpAddress: fixedIpAddresses?.[i],
      securityGroups,
      serverGroup: this.serverGroup,
    }));

    const identity = props.keyPair?.privateKeyHint;
    this.sshConfig = sshConfig(this.nodes.map((n) => ({
      name: n.nodeName, address: n.address, user: n.loginUser, identityFile: identity, jumpHost: props.sshProxyJump,
    })));
    if (props.sshConfigOutput === false) return;
    new TerraformOutput(this, 'SshConfig', {
      value: tfLiteral(this.sshConfig),
      description: tfLiteral(`~/.ssh/config entries for the ${this.nodes.length} nodes of ${this.fleetName}: terraform output -raw <this> >> ~/.ssh/config`),
    });
  }
}

function fleetNodeNames(path: string, fleetName: string, count: number | undefined, nodeNames: string[] | undefined): string[] {
  if ((count === undefined) === (nodeNames === undefined)) {
    throw new Error(`${path}: give exactly one of count and nodeNames, got ${count === undefined ? 'neither' : 'both'}; ` +
      "e.g. count: 2, or nodeNames: ['train-a', 'train-b']");
  }
  if (count !== undefined) {
    requireKnown(path, 'count', count, 'it decides how many nodes the fleet makes at synth');
    if (!Number.isInteger(count) || count < 1 || count > MAX_FLEET_NODES) {
      throw new Error(`${path}: count must be a whole number from 1 to ${MAX_FLEET_NODES} (known at synth time), got ${count}`);
    }
    return Array.from({ length: count }, (_, i) => `${fleetName}-${i + 1}`);
  }
  const names = nodeNames!;
  if (names.length < 1 || names.length > MAX_FLEET_NODES) {
    throw new Error(`${path}: nodeNames must list 1 to ${MAX_FLEET_NODES} names, got ${names.length}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (Token.isUnresolved(name)) {
      throw new Error(`${path}: nodeNames must be plain strings known at synth time (they key the nodes), got a token`);
    }
    if (seen.has(name)) {
      throw new Error(`${path}: nodeNames lists '${name}' twice; server names of a fleet must differ`);
    }
    seen.add(name);
    checkHostName(path, 'nodeNames entry', name);
  }
  // Host names, and ssh's Host patterns, ignore case: 'Train-1' and 'train-1' would be one host.
  const folded = duplicates(names.map((n) => n.toLowerCase()));
  if (folded.length > 0) {
    fail(path, 'nodeNames', 'names that differ in more than case (host names and ssh Host patterns ignore case)', folded[0],
      'Rename one of the nodes');
  }
  return names;
}

/**
 * A name that becomes a `Host` line of the fleet's ssh config: whitespace would split it into several
 * patterns, and `*`, `?`, `!` and `,` are pattern syntax (ssh_config(5) PATTERNS); quotes and '#' are read by
 * ssh's own parser.
 */
function checkHostName(path: string, prop: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  if (/[\s*?!,#"'\u0000-\u001f\u007f]/.test(name)) {
    throw new Error(`${path}: ${prop} must be a name without whitespace, quotes or the characters * ? ! , #, got ${renderValue(name)}; ` +
      "it becomes a Host line of the fleet's ssh config, where these split the name or match other hosts: use e.g. 'train-a'");
  }
}
