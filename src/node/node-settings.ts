// A node's placement, access, lifetime and server timeouts, checked: plain specs in, so the constructs'
// types stay out.
import { Token } from 'cdktf';
import { computeInstanceV2 } from '../../.gen/providers/openstack';
import { cidrContains, isIpAddress } from '../core/ip';
import { requireResolved } from '../core/names';
import { MAX_LIFETIME_HOURS } from '../core/validation';

/** `ServerTimeouts`, as this module reads it. */
export interface ServerTimeoutSpec {
  readonly createMinutes?: number;
  readonly updateMinutes?: number;
  readonly deleteMinutes?: number;
}

/** What of a cloud profile decides a node's lifetime. */
export interface LifetimeProfile {
  readonly name: string;
  readonly maxLifetimeHours?: number;
}

/** The provider's `timeouts` block; throws naming `path` for a value out of range. */
export function serverTimeouts(path: string, given: ServerTimeoutSpec | undefined): computeInstanceV2.ComputeInstanceV2Timeouts {
  const minutes = (name: keyof ServerTimeoutSpec, fallback: number): string => {
    const value = given?.[name] ?? fallback;
    if (!(Number.isInteger(value) && value >= 1 && value <= 24 * 60)) {
      throw new Error(`${path}: serverTimeouts.${name} must be a whole number of minutes from 1 to 1440, got ${value}`);
    }
    return `${value}m`;
  };
  return { create: minutes('createMinutes', 30), update: minutes('updateMinutes', 15), delete: minutes('deleteMinutes', 15) };
}

/** The node's lifetime in hours (undefined: none), checked against the profile's limit and the warning. */
export function resolveLifetime(path: string, profile: LifetimeProfile, hours: number | undefined, warningHours: number | undefined): number | undefined {
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

/** What of a node's props decides its network access (`GpuNodeProps`, as this module reads it). */
export interface NodeAccessSpec {
  readonly network: {
    readonly networkName: string;
    readonly securityGroup?: unknown;
    readonly routesToExternalNetwork?: boolean;
  };
  readonly securityGroups?: readonly unknown[];
  readonly sshFrom?: readonly unknown[];
  readonly ingress?: readonly unknown[];
  readonly floatingIp?: boolean;
  readonly fixedIpAddress?: string;
  readonly rootVolumeSizeGiB?: number;
}

/** Whether the node makes its own security group: neither `securityGroups` nor the network gives one. */
export function makesOwnGroup(props: NodeAccessSpec): boolean {
  return props.securityGroups === undefined && !props.network.securityGroup;
}

/** Whether the node gets a floating IP: asked for, or by default where the network routes to the external network. */
export function wantsFloatingIp(props: NodeAccessSpec): boolean {
  return props.floatingIp ?? props.network.routesToExternalNetwork !== false;
}

/** Checks the node's address, groups, root disk and floating IP against its network and profile. */
export function checkNodePlacement(path: string, props: NodeAccessSpec, profile: { readonly name: string; readonly externalNetworkName?: string }): void {
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
        `give ${prop} to the GpuNetwork, or open the port on this node alone with node.connections.allowFrom(peer, port)`);
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
}
