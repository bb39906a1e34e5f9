// The naming rule for L1 escape hatches (README, "Escape hatches"): a construct's main L1 resource is
// `resource`, with construct id `Resource`, so it is also `node.defaultChild`; its other L1 resources are
// named after what they are.
import { TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, KeyPair, openstack, SecurityGroup, ServerGroup } from '../../src';

function build() {
  const stack = new TerraformStack(Testing.app(), 'test');
  const network = new GpuNetwork(stack, 'Net');
  const keyPair = new KeyPair(stack, 'Key');
  const securityGroup = new SecurityGroup(stack, 'Group');
  const serverGroup = new ServerGroup(stack, 'Placement');
  const node = new GpuNode(stack, 'Node', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, keyPair, dataVolume: { sizeGiB: 10 },
  });
  return { network, keyPair, securityGroup, serverGroup, node };
}

test.each<[string, (b: ReturnType<typeof build>) => [Construct & { resource: unknown }, string]]>([
  ['GpuNode', (b) => [b.node, 'openstack_compute_instance_v2']],
  ['GpuNetwork', (b) => [b.network, 'openstack_networking_network_v2']],
  ['KeyPair', (b) => [b.keyPair, 'openstack_compute_keypair_v2']],
  ['SecurityGroup', (b) => [b.securityGroup, 'openstack_networking_secgroup_v2']],
  ['ServerGroup', (b) => [b.serverGroup, 'openstack_compute_servergroup_v2']],
])('%s: the main L1 is `resource`, the default child', (_, pick) => {
  const [construct, type] = pick(build());
  expect(construct.node.defaultChild).toBe(construct.resource);
  expect((construct.resource as { terraformResourceType: string }).terraformResourceType).toBe(type);
});

test('the other L1s are named after what they are; the old names are deprecated aliases', () => {
  const { network, node } = build();
  expect(network.subnet).toBeInstanceOf(openstack.networkingSubnetV2.NetworkingSubnetV2);
  expect(network.router).toBeInstanceOf(openstack.networkingRouterV2.NetworkingRouterV2);
  expect(network.routerResource).toBe(network.router);
  expect(node.port).toBeInstanceOf(openstack.networkingPortV2.NetworkingPortV2);
  expect(node.floatingIp).toBeInstanceOf(openstack.networkingFloatingipV2.NetworkingFloatingipV2);
  expect(node.dataVolume).toBeInstanceOf(openstack.blockstorageVolumeV3.BlockstorageVolumeV3);
  expect(node.instance).toBe(node.resource);
});
