import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { networkingSecgroupRuleV2, networkingSecgroupV2, dataOpenstackNetworkingSecgroupV2 } from '../../.gen/providers/openstack';
import { nameOrDefault } from '../private/names';
import { tfLiteral } from '../private/validation';
import { validateSecurityGroup } from '../private/validation-constructs';
import { Peer, Port } from './peer';

/** A security group, created here or looked up. */
export interface ISecurityGroup {
  /** The group's ID. */
  readonly securityGroupId: string;
  /** The group's name in the cloud. */
  readonly securityGroupName: string;
}

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
   * Description shown in the cloud.
   * @default - says which construct manages it
   */
  readonly description?: string;
}

/**
 * A security group that allows SSH only from the peers given, ICMP, and extra ports.
 * Egress keeps Neutron's default (everything), which package installs need.
 */
export class SecurityGroup extends Construct implements ISecurityGroup {
  /** An existing security group, looked up by name. */
  public static fromName(scope: Construct, id: string, securityGroupName: string): ISecurityGroup {
    const data = new dataOpenstackNetworkingSecgroupV2.DataOpenstackNetworkingSecgroupV2(scope, id, { name: tfLiteral(securityGroupName) });
    return { securityGroupId: data.id, securityGroupName };
  }

  public readonly securityGroupId: string;
  public readonly securityGroupName: string;
  /** The L1 resource, as an escape hatch. */
  public readonly resource: networkingSecgroupV2.NetworkingSecgroupV2;
  private readonly ruleKeys = new Set<string>();

  constructor(scope: Construct, id: string, props: SecurityGroupProps = {}) {
    super(scope, id);
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
  }

  /** Opens `port` to `peer`. */
  public addIngress(peer: Peer, port: Port): void {
    peer.validate(this.node.path);
    port.validate(this.node.path);
    this.addRule({
      ethertype: peer.ethertype,
      protocol: port.protocol,
      portRangeMin: port.fromPort,
      portRangeMax: port.toPort,
      remoteIpPrefix: peer.cidr,
      description: `${port} from ${peer}`,
    });
  }

  /** Allows ICMP from `peer`. */
  public addIcmp(peer: Peer): void {
    peer.validate(this.node.path);
    this.addRule({
      ethertype: peer.ethertype,
      protocol: peer.ethertype === 'IPv4' ? 'icmp' : 'ipv6-icmp',
      remoteIpPrefix: peer.cidr,
      description: `ICMP from ${peer}`,
    });
  }

  private addRule(rule: Omit<networkingSecgroupRuleV2.NetworkingSecgroupRuleV2Config, 'direction' | 'securityGroupId'>): void {
    // Neutron refuses a second identical rule (409), e.g. a peer listed twice.
    const key = [rule.ethertype, rule.protocol, rule.portRangeMin, rule.portRangeMax, rule.remoteIpPrefix].join('|');
    if (this.ruleKeys.has(key)) return;
    this.ruleKeys.add(key);
    // Named by content, not position: adding or removing a peer leaves the other rules alone
    // (rules cannot be updated in place, and a re-created twin would collide with the old one).
    const id = `Rule-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    new networkingSecgroupRuleV2.NetworkingSecgroupRuleV2(this, id, {
      direction: 'ingress',
      securityGroupId: this.securityGroupId,
      ...rule,
    });
  }
}
