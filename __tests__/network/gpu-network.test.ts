import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { CloudProfile, GpuNetwork, GpuNetworkProps, INetwork, openstack, Peer, Port, SecurityGroup } from '../../src';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

const NETWORK = 'openstack_networking_network_v2';
const SUBNET = 'openstack_networking_subnet_v2';
const ROUTER = 'openstack_networking_router_v2';
const ROUTER_INTERFACE = 'openstack_networking_router_interface_v2';
const SECGROUP = 'openstack_networking_secgroup_v2';
const RULE = 'openstack_networking_secgroup_rule_v2';
const OFFICE = Peer.ipv4('192.0.2.0/24');

/** A fresh stack `test`. */
function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'test');
}

/** Synthesizes a stack `test` after `build` and returns its JSON. */
function synth(build: (stack: TerraformStack) => void): any {
  const stack = newStack();
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

/** The one block of `type` in `json[section]`, as [logical id, body]. */
function only(json: any, section: 'resource' | 'data', type: string): [string, any] {
  const entries = Object.entries<any>(json[section]?.[type] ?? {});
  expect(entries).toHaveLength(1);
  return entries[0];
}

/** A stack with one GpuNetwork `net`. */
function synthNetwork(props?: GpuNetworkProps) {
  let network!: GpuNetwork;
  const json = synth((stack) => { network = new GpuNetwork(stack, 'net', props); });
  return { json, network };
}

/** What the network's id tokens become in the synthesized stack. */
function synthesizedIds(build: (stack: TerraformStack) => INetwork): { networkId: string; subnetId: string } {
  const stack = newStack();
  const network = build(stack);
  new TerraformOutput(stack, 'networkId', { value: network.networkId });
  new TerraformOutput(stack, 'subnetId', { value: network.subnetId });
  const out = JSON.parse(Testing.synth(stack)).output;
  return { networkId: out.networkId.value, subnetId: out.subnetId.value };
}

/** Builds a GpuNetwork `net` in a fresh stack `test`, to test what it throws. */
function build(props: GpuNetworkProps): () => void {
  return () => new GpuNetwork(newStack(), 'net', props);
}

describe('GpuNetwork', () => {
  test('creates exactly a network, a subnet, a router, its interface and a security group', () => {
    const { json } = synthNetwork();
    expect(Object.keys(json.resource).sort()).toEqual([NETWORK, ROUTER_INTERFACE, ROUTER, SECGROUP, SUBNET].sort());
    for (const type of Object.keys(json.resource)) expect(Object.keys(json.resource[type])).toHaveLength(1);
    expect(Object.keys(json.data)).toEqual([NETWORK]);
  });

  test('the resources are wired together by reference', () => {
    const { json } = synthNetwork();
    const [networkId, network] = only(json, 'resource', NETWORK);
    const [subnetId, subnet] = only(json, 'resource', SUBNET);
    const [routerId, router] = only(json, 'resource', ROUTER);
    const [, routerInterface] = only(json, 'resource', ROUTER_INTERFACE);
    const [externalId, external] = only(json, 'data', NETWORK);
    expect(network).toEqual({ name: 'test-net', admin_state_up: true });
    expect(subnet).toEqual({
      name: 'test-net-subnet', cidr: '10.42.0.0/24', ip_version: 4, network_id: `\${${NETWORK}.${networkId}.id}`,
    });
    expect(external).toEqual({ name: 'public', external: true });
    expect(router).toEqual({
      name: 'test-net-router', admin_state_up: true, external_network_id: `\${data.${NETWORK}.${externalId}.id}`,
    });
    expect(routerInterface).toEqual({ router_id: `\${${ROUTER}.${routerId}.id}`, subnet_id: `\${${SUBNET}.${subnetId}.id}` });
  });

  test('networkId references the network; subnetId goes through the router interface, so users wait for the router', () => {
    const ids = synthesizedIds((stack) => new GpuNetwork(stack, 'net'));
    expect(ids.networkId).toMatch(new RegExp(`^\\$\\{${NETWORK}\\.net_[A-Z0-9]+\\.id\\}$`));
    expect(ids.subnetId).toMatch(/^\$\{openstack_networking_router_interface_v2\.net_RouterInterface_[A-Z0-9]+\.subnet_id\}$/);
    const noRouter = synthesizedIds((stack) => new GpuNetwork(stack, 'net', { router: false }));
    expect(noRouter.subnetId).toMatch(new RegExp(`^\\$\\{${SUBNET}\\.net_Subnet_[A-Z0-9]+\\.id\\}$`));
  });

  test('name, CIDR and DNS servers can be given', () => {
    const { json, network } = synthNetwork({ networkName: 'gpu-lab', cidr: '172.30.8.0/22', dnsNameservers: ['9.9.9.9', '2620:fe::fe'] });
    expect(network.networkName).toBe('gpu-lab');
    expect(only(json, 'resource', NETWORK)[1].name).toBe('gpu-lab');
    expect(only(json, 'resource', SUBNET)[1]).toMatchObject({
      name: 'gpu-lab-subnet', cidr: '172.30.8.0/22', dns_nameservers: ['9.9.9.9', '2620:fe::fe'],
    });
    expect(only(json, 'resource', ROUTER)[1].name).toBe('gpu-lab-router');
    expect(only(json, 'resource', SECGROUP)[1].name).toBe('gpu-lab-gpu-nodes');
  });

  test('the router connects to the external network the profile names', () => {
    const { json } = synthNetwork({ cloudProfile: CloudProfile.HFD_NETLAB.withExternalNetwork('ext-net') });
    expect(only(json, 'data', NETWORK)[1]).toEqual({ name: 'ext-net', external: true });
  });

  test('router: false creates neither router nor interface nor lookup', () => {
    const { json, network } = synthNetwork({ router: false });
    expect(Object.keys(json.resource).sort()).toEqual([NETWORK, SECGROUP, SUBNET].sort());
    expect(json.data).toBeUndefined();
    expect(network.router).toBeUndefined();
  });

  test('router: false works with a profile that names no external network', () => {
    const { json } = synthNetwork({ router: false, cloudProfile: CloudProfile.custom({ name: 'isolated' }) });
    expect(json.resource[ROUTER]).toBeUndefined();
  });

  test('the security group allows SSH and extra ports from the given peers only', () => {
    const { json, network } = synthNetwork({ sshFrom: [OFFICE], ingress: [{ port: Port.JUPYTER }], allowIcmp: false });
    expect(network.securityGroup).toBeInstanceOf(SecurityGroup);
    const [groupId] = only(json, 'resource', SECGROUP);
    const rules = Object.values<any>(json.resource[RULE]);
    expect(rules.map((r) => `${r.protocol}/${r.port_range_min} ${r.remote_ip_prefix}`).sort()).toEqual([
      'tcp/22 192.0.2.0/24', 'tcp/8888 192.0.2.0/24',
    ]);
    for (const r of rules) expect(r.security_group_id).toBe(`\${${SECGROUP}.${groupId}.id}`);
  });

  test('without sshFrom the security group has no rules', () => {
    const { json } = synthNetwork();
    expect(json.resource[RULE]).toBeUndefined();
    expect(JSON.stringify(json)).not.toContain('0.0.0.0/0');
  });

  test('passes the provider schema check and an offline terraform plan', () => {
    const { dir } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'network-checks');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      new GpuNetwork(stack, 'net', { sshFrom: [OFFICE], ingress: [{ port: Port.JUPYTER }], dnsNameservers: ['9.9.9.9'] });
      const existing = GpuNetwork.forUser(stack, 'user', 'alice');
      new TerraformOutput(stack, 'userSubnet', { value: existing.subnetId });
      return stack;
    });
    expectStackPassesChecks(dir);
  });
});

describe('existing networks', () => {
  test('fromName looks up the network and its subnet and creates nothing', () => {
    let network!: INetwork;
    const json = synth((stack) => { network = GpuNetwork.fromName(stack, 'existing', 'shared-net'); });
    expect(json.resource).toBeUndefined();
    const [networkId, data] = only(json, 'data', NETWORK);
    expect(data).toEqual({ name: 'shared-net' });
    expect(only(json, 'data', SUBNET)[1]).toEqual({ network_id: `\${data.${NETWORK}.${networkId}.id}` });
    expect(network.networkName).toBe('shared-net');
    expect(network.securityGroup).toBeUndefined();
  });

  test('fromName with subnetName looks up that subnet', () => {
    const json = synth((stack) => { GpuNetwork.fromName(stack, 'existing', 'shared-net', { subnetName: 'shared-v4' }); });
    expect(only(json, 'data', SUBNET)[1]).toMatchObject({ name: 'shared-v4' });
  });

  test('its ids reference the data sources', () => {
    const ids = synthesizedIds((stack) => GpuNetwork.fromName(stack, 'existing', 'shared-net'));
    expect(ids.networkId).toMatch(new RegExp(`^\\$\\{data\\.${NETWORK}\\.existing_Network_[A-Z0-9]+\\.id\\}$`));
    expect(ids.subnetId).toMatch(new RegExp(`^\\$\\{data\\.${SUBNET}\\.existing_Subnet_[A-Z0-9]+\\.id\\}$`));
  });

  test('forUser looks up the per-user network of the profile', () => {
    let network!: INetwork;
    const json = synth((stack) => { network = GpuNetwork.forUser(stack, 'mine', 'alice'); });
    expect(json.resource).toBeUndefined();
    expect(only(json, 'data', NETWORK)[1]).toEqual({ name: 'alice-net' });
    expect(Object.keys(json.data).sort()).toEqual([NETWORK, SUBNET]);
    expect(network.networkName).toBe('alice-net');
  });

  test('forUser follows the pattern of a custom profile', () => {
    const profile = CloudProfile.custom({ name: 'lab', userNetworkPattern: 'project-{user}' });
    const json = synth((stack) => { GpuNetwork.forUser(stack, 'mine', 'bob.smith@lab', profile); });
    expect(only(json, 'data', NETWORK)[1]).toEqual({ name: 'project-bob.smith@lab' });
  });
});

describe('bad input', () => {
  test.each([
    ['host bits set', '10.42.0.1/24'],
    ['prefix above 32', '10.42.0.0/33'],
    ['an IPv6 block', 'fd00::/64'],
    ['no prefix', '10.42.0.0'],
    ['leading zeros', '010.42.0.0/24'],
  ])('a CIDR with %s names the path, the value and an example', (_why, cidr) => {
    expect(build({ cidr })).toThrow(inOrder('test/net: cidr', `'${cidr}' is not an IPv4 CIDR block`, "write it like '10.42.0.0/24'"));
  });

  test('a network name too long for its suffixed security group names networkName and the limit', () => {
    expect(build({ networkName: 'n'.repeat(250) })).toThrow(
      inOrder('test/net: networkName must be at most 245 characters', "'-gpu-nodes'", 'got 250 characters'));
  });

  test.each(['dns.google', '9.9.9', '', 'localhost', '999.1.1.1', 'foo:bar'])('the DNS server %p names the path, the value and that IPs are needed', (ns) => {
    expect(build({ dnsNameservers: [ns] })).toThrow(inOrder('test/net', "dnsNameservers must be IP addresses (e.g. '9.9.9.9')", `got '${ns}'`));
  });

  test('router on with a profile without external network names the path, the profile and both fixes', () => {
    expect(build({ cloudProfile: CloudProfile.custom({ name: 'isolated' }) })).toThrow(inOrder(
      'test/net', "cloud profile 'isolated' names no external network for the router",
      "profile.withExternalNetwork('<name>')", 'router: false'));
  });

  test('a bad network name names the path, the value and the rule', () => {
    expect(build({ networkName: ' gpu' })).toThrow(
      inOrder('test/net', 'networkName must be 1-255 printable characters without leading or trailing spaces', "got ' gpu'"));
  });

  test('a bad SSH peer names the security group path and the value', () => {
    expect(build({ sshFrom: [Peer.ipv4('192.0.2.1/24')] })).toThrow(
      inOrder('test/net/SecurityGroup', "'192.0.2.1/24' is not an IPv4 CIDR block", 'Peer.ipv4('));
  });

  test('an extra port 70000 names the security group path and the port', () => {
    expect(build({ sshFrom: [OFFICE], ingress: [{ port: Port.tcp(70000) }] })).toThrow(
      inOrder('test/net/SecurityGroup', 'port range 70000-70000 is invalid', '1 to 65535'));
  });

  test.each(['alice smith', 'alice/../bob', ''])('forUser(%p) names the path, the value and what a user name may hold', (user) => {
    expect(() => GpuNetwork.forUser(newStack(), 'mine', user)).toThrow(
      inOrder('test/mine: user must be an OpenStack user name', "(letters, digits, '.', '_', '-', '@')", `got '${user}'`));
  });

  test('fromName with a bad network or subnet name names the path and the value', () => {
    expect(() => GpuNetwork.fromName(newStack(), 'existing', 'net ')).toThrow(inOrder('test/existing', 'networkName', "got 'net '"));
    expect(() => GpuNetwork.fromName(newStack(), 'existing', 'net', { subnetName: '' })).toThrow(
      inOrder('test/existing', 'subnetName', "got ''"));
  });
});
