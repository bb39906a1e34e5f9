// A node and its network agree: the node takes the network's cloud profile, a mismatch is an error,
// and a network without a router carries no floating IP.
import { TerraformStack, Testing } from 'cdktf';
import { CloudProfile, GpuFlavor, GpuModel, GpuNetwork, GpuNode, INetwork, openstack, Peer, SnapshotImage, GpuRecipe } from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';

const OTHER_CLOUD = CloudProfile.custom({
  name: 'other-cloud',
  externalNetworkName: 'ext-net',
  flavors: [{ flavorName: 'gpu.t4.1', model: GpuModel.T4, gpuCount: 1 }],
  ubuntuImages: [{ release: CloudProfile.HFD_NETLAB.ubuntuImages[0].release, imageName: 'ubuntu-22.04' }],
});
const T4 = GpuFlavor.of(GpuModel.T4, 1);

function stackWith(build: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), 'test');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

test("a node without a profile takes its network's", () => {
  const { dir, json } = synthToDir((app) => {
    const stack = new TerraformStack(app, 'other');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { cloudProfile: OTHER_CLOUD, sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuNode(stack, 'Node', { flavor: T4, network });
    return stack;
  });
  const [server] = Object.values<any>(json.resource.openstack_compute_instance_v2);
  expect(server.flavor_name).toBe('gpu.t4.1');
  const [fip] = Object.values<any>(json.resource.openstack_networking_floatingip_v2);
  expect(fip.pool).toBe('ext-net');
  expectStackPassesChecks(withQuotaInDir(dir));
});

test('GpuNetwork.forUser carries its profile and a subnet name to the nodes', () => {
  const json = stackWith((stack) => {
    const network = GpuNetwork.forUser(stack, 'Net', 'alice', OTHER_CLOUD, { subnetName: 'alice-subnet-2' });
    new GpuNode(stack, 'Node', { flavor: T4, network, sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  });
  expect(Object.values<any>(json.data.openstack_networking_subnet_v2)[0].name).toBe('alice-subnet-2');
  expect(Object.values<any>(json.resource.openstack_compute_instance_v2)[0].flavor_name).toBe('gpu.t4.1');
});

test("a node's profile that differs from its network's is an error naming both", () => {
  expect(() => stackWith((stack) => {
    const network = new GpuNetwork(stack, 'Net', { cloudProfile: OTHER_CLOUD });
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, cloudProfile: CloudProfile.HFD_NETLAB });
  })).toThrow(/^test\/Node: cloudProfile 'hfd-netlab' differs from the profile of network '[\w-]+' \('other-cloud'\); give the node and its network the same CloudProfile/);
  expect(() => stackWith((stack) => {
    new SnapshotImage(stack, 'Image', {
      recipe: new GpuRecipe(), flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), cloudProfile: CloudProfile.HFD_NETLAB,
      network: GpuNetwork.forUser(stack, 'Net', 'alice', OTHER_CLOUD),
    });
  })).toThrow(/^test\/Image: cloudProfile 'hfd-netlab' differs from the profile of network 'alice-net' \('other-cloud'\)/);
  // An extended copy of the same cloud is the same cloud.
  expect(() => stackWith((stack) => {
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const profile = CloudProfile.HFD_NETLAB.withFlavor({ flavorName: 'g1-8x2080.large', model: GpuModel.RTX_2080_TI, gpuCount: 8 });
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 8), network, cloudProfile: profile });
  })).not.toThrow();
});

test('a network without a router carries no floating IP: none by default, an error when asked', () => {
  const json = stackWith((stack) => {
    const network = new GpuNetwork(stack, 'Net', { router: false, sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network });
  });
  expect(json.resource.openstack_networking_floatingip_v2).toBeUndefined();
  expect(json.output ? Object.keys(json.output).filter((k) => k.includes('FloatingIp')) : []).toEqual([]);
  expect(() => stackWith((stack) => {
    const network: INetwork = new GpuNetwork(stack, 'Net', { router: false });
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, floatingIp: true });
  })).toThrow(/^test\/Node: floatingIp needs a router from network '[\w-]+' to the external network, and it has none; give the GpuNetwork router: true, or set floatingIp: false/);
  // A network looked up by name is assumed to route: the default stays a floating IP.
  const existing = stackWith((stack) => {
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.fromName(stack, 'Net', 'lab-net'), sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  });
  expect(Object.keys(existing.resource.openstack_networking_floatingip_v2)).toHaveLength(1);
});
