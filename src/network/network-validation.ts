// The checks of GpuNetwork, SecurityGroup and KeyPair props, beside them (type-only imports of their props).
import { TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { GpuNetworkProps } from './gpu-network';
import type { KeyPairProps } from './key-pair';
import type { SecurityGroupProps } from './security-group';
import { isCidr } from '../core/ip';
import { check, duplicates, fail, isToken } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { GPU_NETWORK_PROPS, KEY_PAIR_PROPS, SECURITY_GROUP_PROPS } from '../core/validation-schemas';

export function validateGpuNetwork(path: string, props: GpuNetworkProps): void {
  checkProps(path, 'GpuNetworkProps', props, GPU_NETWORK_PROPS);
  const cidr = props.cidr;
  if (cidr !== undefined && !Token.isUnresolved(cidr)) {
    const prefix = Number(cidr.split('/')[1]);
    // Network, broadcast, gateway and DHCP port take four addresses of the block.
    check(!(isCidr(cidr, 4) && prefix > 29), path, 'cidr', 'a block of /29 or larger (network, broadcast, gateway and DHCP take 4 addresses)', cidr,
      "Use a larger block such as '10.42.0.0/24'");
  }
  const dns = isToken(props.dnsNameservers) ? [] : props.dnsNameservers ?? [];
  // Neutron's default max_dns_nameservers is 5.
  check(dns.length <= 5, path, 'dnsNameservers', 'at most 5 servers (Neutron max_dns_nameservers)', dns.length, 'List fewer servers');
  const twice = duplicates(dns.filter((d) => !isToken(d)));
  check(twice.length === 0, path, 'dnsNameservers', 'distinct addresses', twice[0], 'Neutron refuses a duplicate; list each server once');
}

export function validateSecurityGroup(path: string, props: SecurityGroupProps): void {
  checkProps(path, 'SecurityGroupProps', props, SECURITY_GROUP_PROPS);
  const d = props.description;
  if (d !== undefined) {
    check(d.length <= 255 && !/[\u0000-\u001f\u007f]/.test(d), path, 'description', 'at most 255 characters without control characters (Neutron)',
      d, 'Shorten the description');
  }
}

const keyPairNames = new WeakMap<TerraformStack, Map<string, string>>();

export function validateKeyPair(scope: Construct, props: KeyPairProps, name: string): void {
  const path = scope.node.path;
  checkProps(path, 'KeyPairProps', props, KEY_PAIR_PROPS);
  // Nova's keypair_name_special_chars (nova/api/validation/parameter_types.py).
  check(/^[A-Za-z0-9_.@ -]{1,255}$/.test(name) && name.trim() === name, path, 'keyPairName',
    "1-255 letters, digits, spaces, '_', '-', '.' or '@' without leading or trailing spaces", name, 'Rename the keypair');
  if (Token.isUnresolved(name)) return;
  const stack = TerraformStack.of(scope);
  let names = keyPairNames.get(stack);
  if (!names) keyPairNames.set(stack, (names = new Map()));
  const other = names.get(name);
  if (other !== undefined) {
    fail(path, 'keyPairName', `unique in the stack (${other} already creates it)`, name, 'Give one of the keypairs another keyPairName, or share one KeyPair');
  }
  names.set(name, path);
}
