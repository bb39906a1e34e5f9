import { TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, NodeOutputs, openstack, Peer } from '../../src';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { withQuotaInDir } from '../support/cloud-facts';

const stackWith = (outputs: NodeOutputs | undefined, names = ['a', 'b']) => synthToDir((app) => {
  const stack = new TerraformStack(app, 'outputs');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  const keyPair = new KeyPair(stack, 'Key', { publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEt0p8HSWJ6KOqnUYcQqYlRx4fvGj9aaXNvVyCPkNkMW x', privateKeyHint: '~/.ssh/lab' });
  const recipe = new GpuRecipe();
  names.forEach((nodeName, i) => new GpuNode(stack, `Node${i}`, {
    flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, keyPair, recipe, nodeName, outputs,
  }));
  return stack;
});

test('by default every node has its own outputs', () => {
  const { json } = stackWith(undefined);
  const names = Object.keys(json.output).map((k) => k.replace(/_[0-9A-F]{8}$/, '')).sort();
  expect(names).toEqual(['Node0_FixedIp', 'Node0_FloatingIpAddress', 'Node0_InstanceId', 'Node0_ShelveAt', 'Node0_SshCommand',
    'Node1_FixedIp', 'Node1_FloatingIpAddress', 'Node1_InstanceId', 'Node1_ShelveAt', 'Node1_SshCommand']);
});

test('STACK_MAP gives the stack one gpu_nodes output with each node\'s id, addresses and ssh command', () => {
  const { json, dir } = stackWith(NodeOutputs.STACK_MAP);
  expect(Object.keys(json.output)).toEqual(['gpu_nodes']);
  const map = json.output.gpu_nodes.value;
  expect(Object.keys(map)).toEqual(['a', 'b']);
  expect(map.a).toEqual({
    id: expect.stringMatching(/^\$\{openstack_compute_instance_v2\.Node0_\w+\.id\}$/),
    fixed_ip: expect.stringMatching(/^\$\{element\(openstack_networking_port_v2\.Node0_Port_\w+\.all_fixed_ips, 0\)\}$/),
    floating_ip: expect.stringMatching(/^\$\{openstack_networking_floatingip_v2\.Node0_FloatingIp_\w+\.address\}$/),
    ssh: expect.stringMatching(/^ssh -i ~\/\.ssh\/lab ubuntu@\$\{openstack_networking_floatingip_v2\.Node0_FloatingIp_\w+\.address\}$/),
    shelve_at: expect.stringMatching(/^\$\{timeadd\(/),
  });
  expectStackPassesChecks(withQuotaInDir(dir));
});

test('two nodes of one name in the map, or an unknown kind, fail with the path and the fix', () => {
  expect(() => stackWith(NodeOutputs.STACK_MAP, ['same', 'same']))
    .toThrow(/^outputs\/Node1: another node of this stack is already named 'same' in the gpu_nodes output; give it another nodeName$/);
  expect(() => stackWith('every' as NodeOutputs))
    .toThrow(/^outputs\/Node0: outputs must be one of NodeOutputs.PER_NODE, NodeOutputs.STACK_MAP .*got 'every'\. Use NodeOutputs.PER_NODE/);
});
