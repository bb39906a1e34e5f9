// A SlurmCluster on the mini-cloud with the real provider v3.4.0: its workers' Nova server group
// (policy and members) and every node ACTIVE. One compute host: the default soft-anti-affinity
// lets the workers share it (hard anti-affinity could not place two).
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, openstack, Peer, SlurmCluster } from '../../src';
import { Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;

describe('a SlurmCluster on the mini-cloud (real provider v3.4.0)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'slurm');
  const clusterName = `tier-${Date.now().toString(36)}`;

  afterAll(() => {
    if (t.skipped) return;
    const r = d.destroy();
    if (r.status !== 0) console.log(r.output.slice(-3000));
    console.log(`slurm terraform timings: ${d.timings.join(', ')}`);
  });

  cloudTest('deploys the head and two workers; the workers are the members of one soft-anti-affinity group', () => {
    d.synth((app: App) => {
      const stack = new TerraformStack(app, 'cloud-slurm');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      // Head (1 x RTX 2060) and workers (1 x RTX 2080 Ti each): 12 vCPUs and 48 GiB, inside Nova's default quota.
      new SlurmCluster(stack, 'Cluster', {
        clusterName, sshFrom: [Peer.ipv4('10.0.0.0/8')],
        workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), count: 2 }],
      });
      return stack;
    });
    d.applyOk();
    const servers = d.resources('openstack_compute_instance_v2').map((r) => r.values);
    expect(servers).toHaveLength(3);
    for (const s of servers) expect(inspect(t, 'server', s.id).status).toBe('ACTIVE');
    const group = d.one('openstack_compute_servergroup_v2');
    const inNova = inspect(t, 'server-group', group.name);
    expect(inNova.policy).toBe('soft-anti-affinity');
    const workers = servers.filter((s) => s.scheduler_hints?.[0]?.group === group.id).map((s) => s.id);
    expect(workers).toHaveLength(2);
    expect([...inNova.members].sort()).toEqual([...workers].sort());
  });
});
