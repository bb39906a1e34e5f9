// GpuNode's security group: the one it makes (exposed), its ingress prop, and peers by group.
import { TerraformStack, Testing } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuNodeProps, openstack, Peer, Port, SecurityGroup } from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

const RULE_TYPE = 'openstack_networking_secgroup_rule_v2';
const LAB = Peer.ipv4('10.0.0.0/8');

type Options = Omit<GpuNodeProps, 'network' | 'flavor'>;

/** A node `Node` on alice's existing network (no network security group), or on a new GpuNetwork. */
function nodeStack(stack: TerraformStack, options: Options = {}, newNetwork = false): GpuNode {
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = newNetwork ? new GpuNetwork(stack, 'Net', { sshFrom: [LAB] }) : GpuNetwork.forUser(stack, 'Net', 'alice');
  return new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, ...options });
}

function synth(options: Options | ((stack: TerraformStack) => Options) = {}, newNetwork = false) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const node = nodeStack(stack, typeof options === 'function' ? options(stack) : options, newNetwork);
  return { node, json: JSON.parse(Testing.synth(stack)) };
}

const rules = (json: any) => Object.entries<any>(json.resource[RULE_TYPE] ?? {});

describe('GpuNode security group', () => {
  test('on an existing network the node makes its group, exposes it, and its port uses it', () => {
    const { node, json } = synth({ sshFrom: [LAB] });
    expect(node.securityGroup).toBeInstanceOf(SecurityGroup);
    expect(node.securityGroup!.securityGroupName).toBe('test-Node-access');
    expect(node.securityGroups).toEqual([node.securityGroup]);
    const port = Object.values<any>(json.resource.openstack_networking_port_v2)[0];
    expect(port.security_group_ids).toEqual([expect.stringMatching(/^\$\{openstack_networking_secgroup_v2\.Node_SecurityGroup_\w+\.id\}$/)]);
  });

  test('ingress opens extra ports: to the SSH peers by default, or to a group\'s members', () => {
    const { json } = synth({
      sshFrom: [LAB],
      ingress: [{ port: Port.JUPYTER }, { port: Port.tcp(29500), peers: [Peer.securityGroup({ securityGroupId: '0b5c2f4a-1111-4222-8333-444455556666', securityGroupName: 'trainers' })] }],
    });
    const shown = rules(json).map(([, r]) => `${r.protocol} ${r.port_range_min ?? '-'} ${r.remote_ip_prefix ?? r.remote_group_id}`).sort();
    expect(shown).toEqual(['icmp - 10.0.0.0/8', 'tcp 22 10.0.0.0/8', 'tcp 29500 0b5c2f4a-1111-4222-8333-444455556666', 'tcp 8888 10.0.0.0/8']);
  });

  test('the exposed group takes more rules after construction, e.g. from other nodes', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const node = nodeStack(stack, { sshFrom: [LAB] });
    const other = new SecurityGroup(stack, 'Others');
    node.securityGroup!.addIngress(Peer.securityGroup(other), Port.tcp(6006));
    node.securityGroup!.allowFromMembers();
    const json = JSON.parse(Testing.synth(stack));
    const byGroup = rules(json).map(([, r]) => r).filter((r) => r.remote_group_id);
    expect(byGroup.map((r) => `${r.protocol ?? 'any'} ${r.remote_group_id.replace(/_[0-9A-F]{8}\.id\}$/, '')}`).sort()).toEqual([
      'any ${openstack_networking_secgroup_v2.Node_SecurityGroup', 'tcp ${openstack_networking_secgroup_v2.Others',
    ]);
  });

  test('with the network\'s group or given groups the node makes none', () => {
    const { node } = synth({}, true);
    expect(node.securityGroup).toBeUndefined();
    expect(node.securityGroups).toHaveLength(1);
    const stack = new TerraformStack(Testing.app(), 'test');
    const given = SecurityGroup.fromName(stack, 'Lab', 'lab');
    const withGiven = nodeStack(stack, { securityGroups: [given] });
    expect(withGiven.securityGroup).toBeUndefined();
    expect(withGiven.securityGroups).toEqual([given]);
  });

  const labGroup = (stack: TerraformStack) => SecurityGroup.fromId(stack, 'Lab', '0b5c2f4a-1111-4222-8333-444455556666');
  test.each<[string, Options | ((stack: TerraformStack) => Options), boolean, string[]]>([
    ['ingress with the network\'s group', { ingress: [{ port: Port.JUPYTER, peers: [LAB] }] }, true,
      ['test/Node: ingress applies only to a security group the node makes itself', 'the network brings one', 'give ingress to the GpuNetwork']],
    ['ingress with given groups', (stack) => ({ ingress: [{ port: Port.JUPYTER, peers: [LAB] }], securityGroups: [labGroup(stack)] }), false,
      ['test/Node: ingress applies only', 'securityGroups are given', 'node.connections.allowFrom(peer, port)']],
    ['sshFrom with given groups', (stack) => ({ sshFrom: [LAB], securityGroups: [labGroup(stack)] }), false,
      ['test/Node: sshFrom applies only', 'securityGroups are given']],
    ['ingress without any peer', { ingress: [{ port: Port.JUPYTER }] }, false,
      ['test/Node/SecurityGroup: ingress rule tcp/8888 has no peers']],
  ])('%s is refused with the path and the fix', (_why, options, newNetwork, parts) => {
    expect(() => synth(options, newNetwork)).toThrow(inOrder(...parts));
  });

  test('a node with ingress and group peers passes the schema check and terraform plan', () => {
    const { dir, json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'node-ingress');
      const node = nodeStack(stack, { sshFrom: [LAB], ingress: [{ port: Port.JUPYTER }], floatingIp: false });
      node.securityGroup!.allowFromMembers();
      return stack;
    });
    expect(rules(json)).toHaveLength(4);
    expectStackPassesChecks(withQuotaInDir(dir));
  });
});
