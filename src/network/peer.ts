// Who may reach what: peers (CIDRs, security groups), security groups as rules see them, and the
// `connections` of anything that has security groups. One module, as Peer and Connections use each other.
import { Token } from 'cdktf';
import { isCidr, normalCidr } from '../core/ip';
import { fail, renderValue } from '../core/validation';
import { IConstruct } from 'constructs';
import { checkProps } from '../core/validation-props';
import { CONNECTIONS_PROPS } from '../core/validation-schemas';
import { Port } from './port';

/** A security group as a peer: what `Peer.securityGroup()` needs of it. */
export interface ISecurityGroupPeer {
  /** The group's ID. */
  readonly securityGroupId: string;
  /** The group's name in the cloud. */
  readonly securityGroupName: string;
}

/**
 * A security group, created here (`SecurityGroup`) or imported (`SecurityGroup.fromName`,
 * `SecurityGroup.fromId`): both take rules alike.
 */
export interface ISecurityGroup extends IConstruct, ISecurityGroupPeer, IConnectable {
  /** Opens `port` to `peer`. */
  addIngress(peer: Peer, port: Port): void;
  /** Allows ICMP from `peer`. */
  addIcmp(peer: Peer): void;
  /** Allows every port and protocol from `peer` (a rule without a protocol); refuses the whole internet. */
  allowAllFrom(peer: Peer): void;
  /**
   * Lets the servers in this group reach each other: on `ports`, or on every port and protocol
   * when none are given (IPv4).
   */
  allowFromMembers(ports?: Port[]): void;
}

/** Something with security groups, whose rules `connections` writes: a node, a fleet, a security group, a peer. */
export interface IConnectable {
  /** Who may reach it, and as whom it reaches others. */
  readonly connections: Connections;
}

/** Properties of `Connections`. */
export interface ConnectionsProps {
  /**
   * The security groups that `allowFrom` and `allowInternally` add rules to; their members are
   * the peers this object is to others.
   * @default - none: only a source for others' rules (`peers`)
   */
  readonly securityGroups?: ISecurityGroup[];
  /**
   * Who this object is as a source of traffic, besides the members of `securityGroups`, e.g. a CIDR.
   * @default - none
   */
  readonly peers?: Peer[];
}

/**
 * The security-group rules of something connectable, as aws-ec2's `Connections`:
 * `node.connections.allowFrom(Peer.ipv4('10.0.0.0/8'), Port.JUPYTER)`,
 * `fleet.connections.allowInternally(Port.tcp(29500))`,
 * `node.connections.allowFrom(otherNode, Port.tcp(6006))`. Rules go into every group of
 * `securityGroups`, whoever made it (this stack, or an import); only ingress rules, as egress stays
 * open (Neutron's default, which package installs need).
 */
export class Connections {
  /** The security groups rules are added to. */
  public readonly securityGroups: ISecurityGroup[];
  private readonly ownPeers: Peer[];

  constructor(props: ConnectionsProps = {}) {
    checkProps('new Connections', 'ConnectionsProps', props, CONNECTIONS_PROPS);
    this.securityGroups = [...(props.securityGroups ?? [])];
    this.ownPeers = [...(props.peers ?? [])];
  }

  /** Who this object is as a source: the members of each of its groups, and its own peers. */
  public get peers(): Peer[] {
    return [...this.securityGroups.map((g) => Peer.securityGroup(g)), ...this.ownPeers];
  }

  /** Lets `other` (a peer, a node, a fleet, a security group) reach this object on `port`. */
  public allowFrom(other: IConnectable, port: Port): void {
    const from = sourcesOf(other);
    for (const group of this.targets(`allowFrom(${from.join(', ')}, ${port})`)) {
      for (const peer of from) group.addIngress(peer, port);
    }
  }

  /** Lets this object reach `other` on `port`: a rule in `other`'s groups. */
  public allowTo(other: IConnectable, port: Port): void {
    other.connections.allowFrom({ connections: this }, port);
  }

  /** Lets the members of this object's groups reach each other on `port` (e.g. a fleet's NCCL port). */
  public allowInternally(port: Port): void {
    this.allowFrom({ connections: this }, port);
  }

  private targets(call: string): ISecurityGroup[] {
    if (this.securityGroups.length === 0) {
      throw new Error(`${call}: ${this.ownPeers.join(', ') || 'this object'} has no security group to add the rule to; ` +
        'call it on the connections of what is to be reached, e.g. node.connections.allowFrom(peer, port)');
    }
    return this.securityGroups;
  }
}

function sourcesOf(other: IConnectable): Peer[] {
  const connections = other?.connections;
  if (!(connections instanceof Connections) && !(typeof connections === 'object' && connections !== null && 'peers' in connections)) {
    fail('Connections.allowFrom', 'other', 'a Peer, or something with connections (GpuNode, GpuFleet, SecurityGroup)', other,
      "Write it like node.connections.allowFrom(Peer.ipv4('10.0.0.0/8'), Port.JUPYTER)");
  }
  return connections.peers;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Where traffic may come from: a CIDR block, or the members of a security group. */
export class Peer implements IConnectable {
  /** An IPv4 CIDR block, e.g. `10.0.0.0/8` or `192.0.2.7/32`. */
  public static ipv4(cidr: string): Peer {
    if (typeof cidr !== 'string') fail('Peer.ipv4', 'cidr', 'a string', cidr, "Write it like Peer.ipv4('10.0.0.0/8')");
    return new Peer(cidr, 'IPv4');
  }

  /** An IPv6 CIDR block, e.g. `2001:db8::/32`. */
  public static ipv6(cidr: string): Peer {
    if (typeof cidr !== 'string') fail('Peer.ipv6', 'cidr', 'a string', cidr, "Write it like Peer.ipv6('2001:db8::/32')");
    // In the form Neutron stores ('2001:DB8:0::/48' -> '2001:db8::/48'): another spelling would show as a change in every plan.
    return new Peer(Token.isUnresolved(cidr) ? cidr : normalCidr(cidr, 6) ?? cidr, 'IPv6');
  }

  /** Every IPv4 address. Open to the whole internet: use it only on purpose. */
  public static anyIpv4(): Peer {
    return new Peer('0.0.0.0/0', 'IPv4');
  }

  /** Every IPv6 address. Open to the whole internet: use it only on purpose. */
  public static anyIpv6(): Peer {
    return new Peer('::/0', 'IPv6');
  }

  /**
   * The ports of every server in `group` (its members), over IPv4: a rule with
   * `remote_group_id`, so nodes reach each other whatever addresses they get. A group may name
   * itself, which lets its own members talk (see `SecurityGroup.allowFromMembers()`).
   */
  public static securityGroup(group: ISecurityGroupPeer): Peer {
    if (typeof group !== 'object' || group === null || typeof group.securityGroupId !== 'string') {
      fail('Peer.securityGroup', 'group', 'a security group (an object with securityGroupId and securityGroupName)', group,
        "Pass a SecurityGroup, or SecurityGroup.fromName(this, 'Lab', '<name>') for an existing one");
    }
    return new Peer(undefined, 'IPv4', group);
  }

  /** The CIDR block; undefined for a security-group peer. */
  public readonly cidr?: string;
  /** `IPv4` or `IPv6`, as the provider's `ethertype` wants it. */
  public readonly ethertype: string;
  /** The security group whose members are the peer; undefined for a CIDR peer. */
  public readonly group?: ISecurityGroupPeer;

  private constructor(cidr: string | undefined, ethertype: string, group?: ISecurityGroupPeer) {
    this.cidr = cidr;
    this.ethertype = ethertype;
    this.group = group;
  }

  /** The peer as a source for `Connections.allowFrom` (it has no security group to add rules to). */
  public get connections(): Connections {
    return new Connections({ peers: [this] });
  }

  /** Whether this peer is the whole address space. */
  public get isAnywhere(): boolean {
    return this.cidr === '0.0.0.0/0' || this.cidr === '::/0';
  }

  /**
   * What identifies the peer in a rule's key: the CIDR, or `group:<name>` (a name stays the
   * same across synths where a token's text would not).
   * @internal
   */
  public get _ruleKey(): string {
    if (this.group) {
      const name = this.group.securityGroupName;
      return `group:${Token.isUnresolved(name) ? this.group.securityGroupId : name}`;
    }
    return this.cidr ?? '';
  }

  /**
   * Throws an error naming `path` when the CIDR is malformed; the security group that uses the peer calls it.
   * @internal
   */
  public _validate(path: string): void {
    // A token (a variable, another resource's CIDR) is checked by Neutron at apply.
    if (this.group) {
      // remote_group_id takes an id; a name ('default') fails only at apply. A token (a resource's id, a variable) passes.
      const id = this.group.securityGroupId;
      if (!Token.isUnresolved(id) && !UUID.test(id)) {
        throw new Error(`${path}: Peer.securityGroup securityGroupId must be a security group UUID, got ${renderValue(id)}; ` +
          "pass a SecurityGroup, or SecurityGroup.fromName(this, 'Lab', '<name>') to look an existing one up by name");
      }
      return;
    }
    if (this.cidr !== undefined && Token.isUnresolved(this.cidr)) return;
    const ok = this.cidr !== undefined && isCidr(this.cidr, this.ethertype === 'IPv4' ? 4 : 6);
    if (!ok) {
      const example = this.ethertype === 'IPv4' ? "Peer.ipv4('10.0.0.0/8')" : "Peer.ipv6('2001:db8::/32')";
      throw new Error(`${path}: '${this.cidr}' is not an ${this.ethertype} CIDR block; write it like ${example}`);
    }
  }

  /** The CIDR block. */
  public toString(): string {
    if (this.group) {
      const name = this.group.securityGroupName;
      return `members of ${Token.isUnresolved(name) ? 'a security group' : `'${name}'`}`;
    }
    return this.cidr ?? '';
  }
}
