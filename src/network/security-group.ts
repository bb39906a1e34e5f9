import { createHash } from 'crypto';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { networkingSecgroupRuleV2, networkingSecgroupV2, dataOpenstackNetworkingSecgroupV2 } from '../../.gen/providers/openstack';
import { nameOrDefault } from '../core/names';
import { tfLiteral } from '../core/validation';
import { validateSecurityGroup } from './network-validation';
import { Peer } from './peer';
import { renderValue } from '../core/validation';
import { Connections, ISecurityGroup } from './peer';
import { Port } from './port';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';

/** An extra port to open, and from where. */
export interface IngressRule {
  /** The port or port range to open. */
  readonly port: Port;
  /**
   * Where the traffic may come from. (Named `peers`, not `from`, which is reserved in Python.)
   * @default - the same peers as SSH (`sshFrom`)
   */
  readonly peers?: Peer[];
}

/** Properties of a `SecurityGroup`. */
export interface SecurityGroupProps {
  /**
   * The group's name in the cloud.
   * @default - derived from the construct path
   */
  readonly securityGroupName?: string;
  /**
   * Peers that may connect with SSH. World-open SSH only with an explicit `Peer.anyIpv4()`.
   * @default - no SSH rule
   */
  readonly sshFrom?: Peer[];
  /**
   * Further ports to open, e.g. `{ port: Port.JUPYTER }`.
   * @default - none
   */
  readonly ingress?: IngressRule[];
  /**
   * Allow ICMP (ping) from the SSH peers.
   * @default true
   */
  readonly allowIcmp?: boolean;
  /**
   * Let the group's members reach each other on every port and protocol (IPv4), e.g. for NCCL,
   * MPI or Slurm between nodes: one ingress rule whose `remote_group_id` is the group itself.
   * @default false
   */
  readonly allowMembers?: boolean;
  /**
   * Description shown in the cloud.
   * @default - says which construct manages it
   */
  readonly description?: string;
}

/**
 * The rules of a security group, owned or imported alike: Neutron takes rules for any group the
 * project may edit, whoever made it.
 */
abstract class SecurityGroupBase extends Construct implements ISecurityGroup {
  public abstract readonly securityGroupId: string;
  public abstract readonly securityGroupName: string;
  private readonly ruleKeys = new Set<string>();
  private groupConnections?: Connections;

  /** The group's rules as `connections`: `group.connections.allowFrom(peer, port)`; as a peer, its members. */
  public get connections(): Connections {
    return this.groupConnections ??= new Connections({ securityGroups: [this] });
  }

  /**
   * Lets the servers in this group reach each other: on `ports`, or on every port and protocol
   * when none are given (IPv4).
   */
  public allowFromMembers(ports?: Port[]): void {
    const self = Peer.securityGroup(this);
    if (ports === undefined) {
      this.allowAllFrom(self);
      return;
    }
    for (const port of ports) this.addIngress(self, port);
  }

  /** Allows every port and protocol from `peer` (a rule without a protocol). */
  public allowAllFrom(peer: Peer): void {
    peer._validate(this.node.path);
    if (peer.isAnywhere) {
      throw new Error(`${this.node.path}: allowAllFrom(${peer}) would open every port to the whole internet; ` +
        'name the ports with addIngress() instead');
    }
    this.addRule(peer, { ethertype: peer.ethertype, description: tfLiteral(`all traffic from ${peer}`) });
  }

  /** Opens `port` to `peer`. */
  public addIngress(peer: Peer, port: Port): void {
    peer._validate(this.node.path);
    port._validate(this.node.path);
    this.addRule(peer, {
      ethertype: peer.ethertype,
      protocol: port.protocol,
      portRangeMin: port.fromPort,
      portRangeMax: port.toPort,
      description: tfLiteral(`${port} from ${peer}`),
    });
  }

  /** Allows ICMP from `peer`. */
  public addIcmp(peer: Peer): void {
    peer._validate(this.node.path);
    this.addRule(peer, {
      ethertype: peer.ethertype,
      protocol: peer.ethertype === 'IPv4' ? 'icmp' : 'ipv6-icmp',
      description: tfLiteral(`ICMP from ${peer}`),
    });
  }

  private addRule(peer: Peer, rule: Omit<networkingSecgroupRuleV2.NetworkingSecgroupRuleV2Config,
    'direction' | 'securityGroupId' | 'remoteIpPrefix' | 'remoteGroupId'>): void {
    // Neutron refuses a second identical rule (409), e.g. a peer listed twice; a port already open to
    // the peer on every protocol (allowAllFrom) needs no rule of its own.
    const key = [rule.ethertype, rule.protocol, rule.portRangeMin, rule.portRangeMax, peer._ruleKey].join('|');
    const everything = [rule.ethertype, undefined, undefined, undefined, peer._ruleKey].join('|');
    if (this.ruleKeys.has(key) || this.ruleKeys.has(everything)) return;
    this.ruleKeys.add(key);
    // Named by content, not position: adding or removing a peer leaves the other rules alone
    // (rules cannot be updated in place, and a re-created twin would collide with the old one).
    const id = `Rule-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    new networkingSecgroupRuleV2.NetworkingSecgroupRuleV2(this, id, {
      direction: 'ingress',
      securityGroupId: this.securityGroupId,
      ...rule,
      // One or the other: the provider's schema makes remote_group_id and remote_ip_prefix
      // ConflictsWith each other (resourceNetworkingSecGroupRuleV2, v3.4.0).
      ...(peer.group ? { remoteGroupId: peer.group.securityGroupId } : { remoteIpPrefix: peer.cidr }),
    });
  }
}
/**
 * A security group that allows SSH only from the peers given, ICMP, and extra ports.
 * Egress keeps Neutron's default (everything), which package installs need.
 */
export class SecurityGroup extends SecurityGroupBase {
  /**
   * An existing security group, looked up by name (a data source: the plan fails when the project
   * has none or several of that name). Rules can be added to it like to a new group.
   */
  public static fromName(scope: Construct, id: string, securityGroupName: string): ISecurityGroup {
    return new ExistingSecurityGroup(scope, id, 'SecurityGroup.fromName', { name: securityGroupName });
  }

  /**
   * An existing security group by its id (a data source: the plan fails when there is none).
   * Rules can be added to it like to a new group.
   */
  public static fromId(scope: Construct, id: string, securityGroupId: string): ISecurityGroup {
    return new ExistingSecurityGroup(scope, id, 'SecurityGroup.fromId', { id: securityGroupId });
  }

  public readonly securityGroupId: string;
  public readonly securityGroupName: string;
  /** The L1 security group (`openstack_networking_secgroup_v2`), as an escape hatch. */
  public readonly resource: networkingSecgroupV2.NetworkingSecgroupV2;

  constructor(scope: Construct, id: string, props: SecurityGroupProps = {}) {
    super(checkedScope(scope, id, 'SecurityGroup'), id);
    guardRetainedVolumes(this);
    validateSecurityGroup(this.node.path, props);
    this.securityGroupName = nameOrDefault(this.node.path, 'securityGroupName', props.securityGroupName);
    this.resource = new networkingSecgroupV2.NetworkingSecgroupV2(this, 'Resource', {
      name: tfLiteral(this.securityGroupName),
      description: tfLiteral(props.description ?? `GPU node access, managed by cdktf (${this.node.path})`),
    });
    this.securityGroupId = this.resource.id;

    const sshFrom = props.sshFrom ?? [];
    for (const peer of sshFrom) this.addIngress(peer, Port.SSH);
    if (props.allowIcmp ?? true) {
      for (const peer of sshFrom) this.addIcmp(peer);
    }
    for (const rule of props.ingress ?? []) {
      const peers = rule.peers ?? sshFrom;
      if (peers.length === 0) {
        throw new Error(`${this.node.path}: ingress rule ${rule.port} has no peers; give it 'peers' (e.g. [Peer.ipv4('10.0.0.0/8')]) or set sshFrom`);
      }
      for (const peer of peers) this.addIngress(peer, rule.port);
    }
    if (props.allowMembers) this.allowFromMembers();
  }

}

/** A group that exists in the cloud, looked up by name or id. */
class ExistingSecurityGroup extends SecurityGroupBase {
  public readonly securityGroupId: string;
  public readonly securityGroupName: string;
  /** The L1 data source (`data.openstack_networking_secgroup_v2`). */
  public readonly lookup: dataOpenstackNetworkingSecgroupV2.DataOpenstackNetworkingSecgroupV2;

  constructor(scope: Construct, id: string, what: string, by: { name?: string; id?: string }) {
    super(checkedScope(scope, id, what, `${what}(this, 'Lab', '<${by.id !== undefined ? 'id' : 'name'}>')`), id);
    guardRetainedVolumes(this);
    const path = this.node.path;
    const given = by.id ?? by.name;
    if (typeof given !== 'string' || (!Token.isUnresolved(given) && given.trim() === '')) {
      throw new Error(`${path}: ${by.id !== undefined ? 'securityGroupId' : 'securityGroupName'} must be a non-empty string, got ` +
        `${renderValue(given)}; pass what 'openstack security group list' shows`);
    }
    this.lookup = new dataOpenstackNetworkingSecgroupV2.DataOpenstackNetworkingSecgroupV2(this, 'Resource', by.id !== undefined
      ? { secgroupId: tfLiteral(by.id) } : { name: tfLiteral(by.name) });
    this.securityGroupId = this.lookup.id;
    // The name as given (it names rules stably across synths), else the cloud's.
    this.securityGroupName = by.name ?? this.lookup.name;
  }
}
