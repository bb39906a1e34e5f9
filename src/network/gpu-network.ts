import { Token } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import {
  dataOpenstackNetworkingNetworkV2,
  dataOpenstackNetworkingSubnetV2,
  networkingNetworkV2,
  networkingRouterInterfaceV2,
  networkingRouterV2,
  networkingSubnetV2,
} from '../../.gen/providers/openstack';
import { isCidr, isIpAddress, parseIpv4 } from '../core/ip';
import { nameOrDefault, validateName } from '../core/names';
import { isToken, tfLiteral } from '../core/validation';
import { validateGpuNetwork } from './network-validation';
import { checkProps } from '../core/validation-props';
import { EXISTING_NETWORK_OPTIONS } from '../core/validation-schemas';
import { CloudProfile } from '../cloud/cloud-profile';
import { profileOrDefault } from '../cloud/default-profile';
import { IngressRule, SecurityGroup } from './security-group';
import { Peer } from './peer';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';
import { Connections, IConnectable, ISecurityGroup } from './peer';

const LONGEST_SUFFIX = '-gpu-nodes';

/** A network that GPU nodes attach to: a `GpuNetwork`, or one looked up (`GpuNetwork.fromName`, `GpuNetwork.forUser`). */
export interface INetwork extends IConstruct {
  /** The network's ID (a Terraform reference where the network is made or looked up in the stack). */
  readonly networkId: string;
  /** The network's name in the cloud. */
  readonly networkName: string;
  /** The subnet that nodes get their fixed IPs from. */
  readonly subnetId: string;
  /**
   * A security group that belongs to the network, used by nodes that name none of their own.
   * @default - none (networks looked up by name): nodes make their own from `sshFrom`
   */
  readonly securityGroup?: ISecurityGroup;
  /**
   * The cloud the network was made for; nodes on it take this profile when they name none.
   * @default - unknown (networks looked up by name)
   */
  readonly cloudProfile?: CloudProfile;
  /**
   * Whether the network has a router to the external network, which floating IPs need.
   * @default - unknown (networks looked up by name): assumed to have one
   */
  readonly routesToExternalNetwork?: boolean;
}

/** Options for looking up an existing network. */
export interface ExistingNetworkOptions {
  /**
   * The subnet to use, by name.
   * @default - the network's only subnet (the lookup fails at plan time if it has several)
   */
  readonly subnetName?: string;
}

/** Properties of a `GpuNetwork`. */
export interface GpuNetworkProps {
  /**
   * The network's name in the cloud.
   * @default - derived from the construct path
   */
  readonly networkName?: string;
  /**
   * The subnet's IPv4 CIDR block.
   * @default '10.42.0.0/24'
   */
  readonly cidr?: string;
  /**
   * DNS servers handed out by DHCP.
   * @default - the cloud's default
   */
  readonly dnsNameservers?: string[];
  /**
   * The cloud whose external network the router connects to.
   * @default CloudProfile.HFD_NETLAB
   */
  readonly cloudProfile?: CloudProfile;
  /**
   * Connect a router to the external network, which floating IPs and package downloads need.
   * @default true
   */
  readonly router?: boolean;
  /**
   * Peers that may connect with SSH to nodes in the network's security group.
   * World-open SSH only with an explicit `Peer.anyIpv4()`.
   * @default - no SSH rule
   */
  readonly sshFrom?: Peer[];
  /**
   * Further ports to open, e.g. `{ port: Port.JUPYTER }`.
   * @default - none
   */
  readonly ingress?: IngressRule[];
  /**
   * Allow ICMP from the SSH peers.
   * @default true
   */
  readonly allowIcmp?: boolean;
  /**
   * Keep the highest `fixedAddressCount` addresses of the subnet out of Neutron's allocation pool, so
   * ports can be given fixed addresses there (`fixedAddresses()`) that no automatic allocation takes
   * (a `SlurmCluster` does this for its nodes).
   * @default 0 - the whole subnet is in the pool
   */
  readonly fixedAddressCount?: number;
}

/**
 * A new network for GPU nodes: network, subnet, router to the external network and a
 * security group. `GpuNetwork.fromName()` uses an existing one instead.
 */
export class GpuNetwork extends Construct implements INetwork, IConnectable {
  /** An existing network (e.g. the per-user `alice-net`), with its subnet looked up. */
  public static fromName(scope: Construct, id: string, networkName: string, options: ExistingNetworkOptions = {}): INetwork {
    return new ExistingNetwork(scope, id, networkName, options);
  }

  /**
   * The per-user project network of a cloud, e.g. `alice-net` on HFD NetLab. Nodes on it take `profile`
   * when they name none. `options.subnetName` picks the subnet where the network has several.
   */
  public static forUser(scope: Construct, id: string, user: string, profile?: CloudProfile,
    options: ExistingNetworkOptions = {}): INetwork {
    if (!Token.isUnresolved(user) && !/^[\w.@-]+$/.test(user)) {
      throw new Error(`${scope.node.path}/${id}: user must be an OpenStack user name (letters, digits, '.', '_', '-', '@'), got '${user}'`);
    }
    const cloud = profileOrDefault(profile);
    return new ExistingNetwork(scope, id, cloud.userNetworkName(user), options, cloud);
  }

  public readonly networkId: string;
  public readonly networkName: string;
  public readonly subnetId: string;
  /** The group for this network's nodes, typed as `INetwork` declares it (always set here: see `nodeSecurityGroup`). */
  public readonly securityGroup?: ISecurityGroup;
  /** The security group this network made for its nodes (SSH from `sshFrom`), as the concrete construct. */
  public readonly nodeSecurityGroup: SecurityGroup;
  /** The cloud the network was made for. */
  public readonly cloudProfile?: CloudProfile;
  /** The subnet's CIDR block. */
  public readonly cidr: string;
  /** How many addresses at the top of the subnet are kept for fixed addresses. */
  public readonly fixedAddressCount: number;
  /** Whether the network has a router to the external network (`router`). */
  public readonly routesToExternalNetwork?: boolean;
  /** The L1 network (`openstack_networking_network_v2`), as an escape hatch. */
  public readonly resource: networkingNetworkV2.NetworkingNetworkV2;
  /** The L1 subnet (`openstack_networking_subnet_v2`), as an escape hatch. */
  public readonly subnet: networkingSubnetV2.NetworkingSubnetV2;
  /** The L1 router (`openstack_networking_router_v2`), where the network has a router to the external network. */
  public readonly router?: networkingRouterV2.NetworkingRouterV2;

  constructor(scope: Construct, id: string, props: GpuNetworkProps = {}) {
    super(checkedScope(scope, id, 'GpuNetwork'), id);
    guardRetainedVolumes(this);
    const path = this.node.path;
    validateGpuNetwork(path, props);
    const profile = profileOrDefault(props.cloudProfile);
    this.cloudProfile = profile;
    this.routesToExternalNetwork = props.router ?? true;
    const cidr = props.cidr ?? '10.42.0.0/24';
    const fixed = props.fixedAddressCount ?? 0;
    if (!Token.isUnresolved(fixed) && (!Number.isInteger(fixed) || fixed < 0 || fixed > 1000)) {
      throw new Error(`${path}: fixedAddressCount must be a whole number from 0 to 1000, got ${fixed}`);
    }
    if (!Token.isUnresolved(cidr) && !isCidr(cidr, 4)) {
      throw new Error(`${path}: cidr '${cidr}' is not an IPv4 CIDR block with zero host bits; write it like '10.42.0.0/24'`);
    }
    for (const ns of props.dnsNameservers ?? []) {
      if (!isToken(ns) && !isIpAddress(ns)) {
        throw new Error(`${path}: dnsNameservers must be IP addresses (e.g. '9.9.9.9'), got '${ns}'`);
      }
    }
    this.networkName = nameOrDefault(path, 'networkName', props.networkName);
    // The subnet, router and security group are named after the network with a suffix.
    if (!Token.isUnresolved(this.networkName) && this.networkName.length > 255 - LONGEST_SUFFIX.length) {
      throw new Error(`${path}: networkName must be at most ${255 - LONGEST_SUFFIX.length} characters, as '${LONGEST_SUFFIX}' ` +
        `is appended for its security group; got ${this.networkName.length} characters`);
    }

    this.resource = new networkingNetworkV2.NetworkingNetworkV2(this, 'Resource', {
      name: tfLiteral(this.networkName),
      adminStateUp: true,
    });
    this.networkId = this.resource.id;
    this.subnet = new networkingSubnetV2.NetworkingSubnetV2(this, 'Subnet', {
      name: tfLiteral(`${this.networkName}-subnet`),
      networkId: this.networkId,
      cidr,
      ipVersion: 4,
      dnsNameservers: props.dnsNameservers,
      allocationPool: fixed > 0 && !Token.isUnresolved(cidr) ? [allocationPoolBelow(path, cidr, fixed)] : undefined,
    });
    this.subnetId = this.subnet.id;
    this.cidr = cidr;
    this.fixedAddressCount = fixed;

    if (props.router ?? true) {
      if (!profile.externalNetworkName) {
        throw new Error(`${path}: cloud profile '${profile.name}' names no external network for the router; ` +
          `use profile.withExternalNetwork('<name>') or set router: false`);
      }
      const external = new dataOpenstackNetworkingNetworkV2.DataOpenstackNetworkingNetworkV2(this, 'ExternalNetwork', {
        name: tfLiteral(profile.externalNetworkName),
        external: true,
      });
      this.router = new networkingRouterV2.NetworkingRouterV2(this, 'Router', {
        name: tfLiteral(`${this.networkName}-router`),
        adminStateUp: true,
        externalNetworkId: external.id,
      });
      const routerInterface = new networkingRouterInterfaceV2.NetworkingRouterInterfaceV2(this, 'RouterInterface', {
        routerId: this.router.id,
        subnetId: this.subnet.id,
      });
      // Users of the subnet (ports, floating IP associations) then wait for the router:
      // Neutron refuses a floating IP on a subnet that the external network cannot reach yet.
      this.subnetId = routerInterface.subnetId;
    }

    this.nodeSecurityGroup = new SecurityGroup(this, 'SecurityGroup', {
      securityGroupName: `${this.networkName}${LONGEST_SUFFIX}`,
      sshFrom: props.sshFrom,
      ingress: props.ingress,
      allowIcmp: props.allowIcmp,
    });
    this.securityGroup = this.nodeSecurityGroup;
  }

  /**
   * The rules of the network's node security group (`nodeSecurityGroup`), which every node on the
   * network without `securityGroups` of its own is in: `network.connections.allowFrom(peer, port)`
   * opens the port on all of them.
   */
  public get connections(): Connections {
    return this.nodeSecurityGroup.connections;
  }

  /**
   * The L1 router.
   * @deprecated use `router`: a construct's other L1 resources are named after what they are, without a suffix
   */
  public get routerResource(): networkingRouterV2.NetworkingRouterV2 | undefined {
    return this.router;
  }

  /**
   * The addresses kept out of the allocation pool (`fixedAddressCount`), lowest first: give them to
   * nodes as `fixedIpAddress`.
   */
  public fixedAddresses(): string[] {
    if (Token.isUnresolved(this.cidr)) {
      throw new Error(`${this.node.path}: fixedAddresses() needs a cidr known at synth time, got a token`);
    }
    const [base, prefix] = this.cidr.split('/');
    const top = parseIpv4(base)! + 2 ** (32 - Number(prefix)) - 2; // the last host address
    return Array.from({ length: this.fixedAddressCount }, (_, i) => ipv4Text(top - this.fixedAddressCount + 1 + i));
  }
}

class ExistingNetwork extends Construct implements INetwork {
  public readonly networkId: string;
  public readonly networkName: string;
  public readonly subnetId: string;
  public readonly cloudProfile?: CloudProfile;

  constructor(scope: Construct, id: string, networkName: string, options: ExistingNetworkOptions, profile?: CloudProfile) {
    super(checkedScope(scope, id, 'GpuNetwork.fromName'), id);
    guardRetainedVolumes(this);
    this.cloudProfile = profile;
    checkProps(this.node.path, 'ExistingNetworkOptions', options, EXISTING_NETWORK_OPTIONS);
    if (typeof networkName !== 'string') throw new Error(`${this.node.path}: networkName must be a string, got ${typeof networkName}. Pass the network's name`);
    this.networkName = validateName(this.node.path, 'networkName', networkName)!;
    validateName(this.node.path, 'subnetName', options.subnetName);
    const network = new dataOpenstackNetworkingNetworkV2.DataOpenstackNetworkingNetworkV2(this, 'Network', { name: tfLiteral(networkName) });
    const subnet = new dataOpenstackNetworkingSubnetV2.DataOpenstackNetworkingSubnetV2(this, 'Subnet', {
      networkId: network.id,
      name: tfLiteral(options.subnetName),
    });
    this.networkId = network.id;
    this.subnetId = subnet.id;
  }
}

/** The pool from the address after the gateway up to below the fixed addresses. */
function allocationPoolBelow(path: string, cidr: string, fixed: number): { start: string; end: string } {
  const [base, prefix] = cidr.split('/');
  const first = parseIpv4(base)!;
  const hosts = 2 ** (32 - Number(prefix)) - 2;
  // .1 is the gateway; keep at least 8 addresses for DHCP ports, routers and other ports.
  if (hosts - 1 - fixed < 8) {
    throw new Error(`${path}: fixedAddressCount ${fixed} leaves fewer than 8 pool addresses in ${cidr}; use a larger cidr`);
  }
  return { start: ipv4Text(first + 2), end: ipv4Text(first + hosts - fixed) };
}

function ipv4Text(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
