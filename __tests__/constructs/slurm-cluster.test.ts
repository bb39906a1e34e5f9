// SlurmCluster: a head and GpuFleet worker groups on a new network with fixed addresses, the Slurm
// files rendered into the recipes, no secret in the JSON, and both offline checks.
import { TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, KeyPair, openstack, Peer, SlurmCluster, UbuntuRelease } from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir, userDataOf } from '../support/checks';

const build = (props: Partial<ConstructorParameters<typeof SlurmCluster>[2]> = {}) => synthToDir((app) => {
  const stack = new TerraformStack(app, 'gpu-cluster');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  new SlurmCluster(stack, 'Lab', {
    workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 2 }],
    sshFrom: [Peer.ipv4('10.0.0.0/8')],
    keyPair: KeyPair.fromName(stack, 'Key', 'alice', { privateKeyHint: '~/.ssh/id_ed25519' }),
    ...props,
  });
  return stack;
});
const servers = (json: any) => Object.values<any>(json.resource.openstack_compute_instance_v2);
const portOf = (json: any, name: string) => Object.values<any>(json.resource.openstack_networking_port_v2).find((p) => p.name === `${name}-port`);

test('a head and two workers with fixed addresses outside the pool; only the head has a floating IP', () => {
  const { json, dir } = build();
  expect(servers(json).map((s) => [s.name, s.flavor_name]).sort()).toEqual([
    ['lab-gpu-1', 'g1-2x2080.medium'], ['lab-gpu-2', 'g1-2x2080.medium'], ['lab-head', 'g1-1x2060.medium'],
  ]);
  const [subnet] = Object.values<any>(json.resource.openstack_networking_subnet_v2);
  expect(subnet.allocation_pool).toEqual([{ start: '10.42.0.2', end: '10.42.0.251' }]);
  expect(portOf(json, 'lab-head').fixed_ip[0].ip_address).toBe('10.42.0.252');
  expect(portOf(json, 'lab-gpu-1').fixed_ip[0].ip_address).toBe('10.42.0.253');
  expect(portOf(json, 'lab-gpu-2').fixed_ip[0].ip_address).toBe('10.42.0.254');
  expect(Object.keys(json.resource.openstack_networking_floatingip_v2)).toHaveLength(1);
  // The workers are in one server group (soft-anti-affinity) and all nodes share the members group.
  expect(Object.values<any>(json.resource.openstack_compute_servergroup_v2)).toEqual([expect.objectContaining({ policies: ['soft-anti-affinity'] })]);
  const members = Object.entries<any>(json.resource.openstack_networking_secgroup_v2).find(([, g]) => g.name === 'lab-members')![0];
  for (const name of ['lab-head', 'lab-gpu-1', 'lab-gpu-2']) {
    expect(portOf(json, name).security_group_ids).toContain(`\${openstack_networking_secgroup_v2.${members}.id}`);
  }
  expectStackPassesChecks(withQuotaInDir(dir));
});

test('the head gets the Slurm files and its setup; the workers share one recipe that names them by host name', () => {
  const { json } = build();
  const byName = new Map(servers(json).map((s) => [s.name, userDataOf(json, s)]));
  const head = byName.get('lab-head')!;
  expect(head).toContain('/etc/slurm/slurm.conf');
  expect(head).toContain('ClusterName=lab');
  expect(head).toContain('SlurmctldHost=lab-head(10.42.0.252)');
  expect(head).toContain('NodeName=lab-gpu-1');
  expect(head).toContain('/opt/gpu-cluster/bin/slurm-head-setup');
  const worker = byName.get('lab-gpu-1')!;
  expect(worker).not.toContain('/etc/slurm/slurm.conf');
  expect(worker).toContain('SLURM_NODE_NAME="$(hostname -s)" /opt/gpu-cluster/bin/slurm-worker-setup');
  expect(byName.get('lab-gpu-2')).toBe(worker);
  const workerServers = servers(json).filter((s) => s.name !== 'lab-head');
  expect(new Set(workerServers.map((s) => s.user_data)).size).toBe(1);
  // No munge key or other secret at synth: the head makes the key at boot.
  expect(JSON.stringify(json)).not.toMatch(/munge\.key[^"]*BEGIN|PRIVATE KEY/);
});

test('outputs: ssh to the head, an SSH config with ProxyJump for the workers, an sbatch example', () => {
  const { json } = build();
  const outputs = Object.entries<any>(json.output);
  const value = (suffix: string) => outputs.find(([k]) => k.includes(suffix))![1].value;
  expect(value('SshConfig')).toMatch(/Host lab-gpu-1\n {2}HostName 10\.42\.0\.253\n {2}User ubuntu\n {2}IdentityFile ~\/\.ssh\/id_ed25519\n {2}ProxyJump lab-head/);
  expect(value('ExampleSbatch')).toBe("sbatch -p gpu -N 2 --gres=gpu:2 --wrap 'srun nvidia-smi -L'");
  expect(value('HeadSsh')).toMatch(/^ssh -i ~\/\.ssh\/id_ed25519 ubuntu@\$\{openstack_networking_floatingip_v2\./);
});

test('Ubuntu 24.04 nodes get the 23.11 settings', () => {
  const { json } = build({ release: UbuntuRelease.NOBLE_24_04 });
  const head = servers(json).find((s) => s.name === 'lab-head');
  expect(userDataOf(json, head)).toContain('ProctrackType=proctrack/cgroup');
});

test('bad input names the path, the value and the fix', () => {
  const flavor = GpuFlavor.of(GpuModel.RTX_2080_TI, 2);
  expect(() => build({ workerGroups: [] })).toThrow(/^gpu-cluster\/Lab: workerGroups must list at least one group/);
  expect(() => build({ workerGroups: [{ partition: 'GPU!', flavor, count: 1 }] })).toThrow(/workerGroups\[0\]\.partition must be 1-16 lower-case letters and digits.*got 'GPU!'/);
  expect(() => build({ workerGroups: [{ partition: 'a', flavor, count: 1 }, { partition: 'a', flavor, count: 1 }] })).toThrow(/partition 'a' twice/);
  expect(() => build({ workerGroups: [{ partition: 'gpu', flavor, count: 0 }] })).toThrow(/workerGroups\[0\]\.count must be a whole number from 1 to 64.*got 0/);
  expect(() => build({ clusterName: 'Lab_1' })).toThrow(/clusterName must be 1-41 lower-case letters.*got 'Lab_1'/);
  expect(() => build({ cidr: '10.42.0.0/28', workerGroups: [{ partition: 'gpu', flavor, count: 8 }] })).toThrow(/fixedAddressCount 9 leaves fewer than 8 pool addresses in 10\.42\.0\.0\/28; use a larger cidr/);
});
