// SlurmCluster: a head and GpuFleet worker groups on a new network with fixed addresses, the Slurm
// files rendered into the recipes, no secret in the JSON, and both offline checks.
import { TerraformStack } from 'cdktf';
import { CloudProfile, GpuFlavor, GpuModel, GpuNetwork, KeyPair, openstack, Peer, SlurmCluster, UbuntuRelease } from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir, userDataOf } from '../support/checks';

type Props = ConstructorParameters<typeof SlurmCluster>[2];
const build = (props: Partial<Props> = {}, existingNetwork = false) => synthToDir((app) => {
  const stack = new TerraformStack(app, 'gpu-cluster');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  new SlurmCluster(stack, 'Lab', {
    ...(existingNetwork ? { network: GpuNetwork.forUser(stack, 'Net', 'alice') } : {}),
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
  // Every cluster: slurmd runs the workers' GPU check (the program is in the workers' user_data, not the head's).
  expect(head).toMatch(/\n *HealthCheckProgram=\/opt\/gpu-cluster\/bin\/slurm-health-check\n *HealthCheckInterval=300\n *HealthCheckNodeState=ANY\n/);
  expect(head).not.toContain('path: /opt/gpu-cluster/bin/slurm-health-check');
  const worker = byName.get('lab-gpu-1')!;
  expect(worker).not.toContain('/etc/slurm/slurm.conf');
  expect(worker).toContain('path: /opt/gpu-cluster/bin/slurm-health-check\n');
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

test('waitForReady: the deploy watches the head for its install plus the cluster\'s wait', () => {
  const { json } = build({ waitForReady: true, readyTimeoutMinutes: 20 });
  const waits = Object.values<any>(json.resource.terraform_data).filter((d) => d.provisioner?.[0]?.['local-exec']?.environment?.WATCH_RECIPE_NAME);
  expect(waits.map((w) => [w.provisioner[0]['local-exec'].environment.WATCH_RECIPE_NAME, w.provisioner[0]['local-exec'].environment.WATCH_TIMEOUT]))
    .toEqual([['gpu-base-slurm-head', `${(45 + 20) * 60}`]]);
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

describe('on an existing network (GpuNetwork.forUser)', () => {
  const portRef = (json: any, name: string) => {
    const id = Object.entries<any>(json.resource.openstack_networking_port_v2).find(([, p]) => p.name === `${name}-port`)![0];
    return `\${element(openstack_networking_port_v2.${id}.all_fixed_ips, 0)}`;
  };
  const NAMES = ['lab-head', 'lab-gpu-1', 'lab-gpu-2'];

  test('no network of its own, Neutron picks the addresses, and every server\'s metadata holds each node\'s port address', () => {
    const { json, dir } = build({}, true);
    expect(json.resource.openstack_networking_network_v2).toBeUndefined();
    expect(json.resource.openstack_networking_subnet_v2).toBeUndefined();
    expect(Object.values<any>(json.data.openstack_networking_network_v2).map((n) => n.name)).toEqual(['alice-net']);
    for (const name of NAMES) expect(portOf(json, name).fixed_ip[0].ip_address).toBeUndefined();
    const expected = Object.fromEntries(NAMES.map((n) => [`gpu_cluster_address_${n}`, portRef(json, n)]));
    for (const s of servers(json)) expect(s.metadata).toEqual(expect.objectContaining(expected));
    // The head alone has a floating IP and an SSH group from sshFrom; the workers are reached through it.
    expect(Object.keys(json.resource.openstack_networking_floatingip_v2)).toHaveLength(1);
    const headAccess = Object.entries<any>(json.resource.openstack_networking_secgroup_v2).find(([, g]) => g.name === 'lab-head-access')![0];
    expect(portOf(json, 'lab-head').security_group_ids).toContain(`\${openstack_networking_secgroup_v2.${headAccess}.id}`);
    const ssh = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2)
      .filter((r) => r.security_group_id === `\${openstack_networking_secgroup_v2.${headAccess}.id}`);
    expect(ssh.filter((r) => r.protocol === 'tcp').map((r) => [r.port_range_min, r.port_range_max, r.remote_ip_prefix])).toEqual([[22, 22, '10.0.0.0/8']]);
    // Terraform's own plan: the references form no cycle (ports before servers).
    expectStackPassesChecks(withQuotaInDir(dir));
  });

  test('user_data holds placeholders, the same text for every worker; the SSH config the ports\' addresses', () => {
    const { json } = build({}, true);
    const byName = new Map(servers(json).map((s) => [s.name, userDataOf(json, s)]));
    const head = byName.get('lab-head')!;
    expect(head).toContain('SlurmctldHost=lab-head(@gpu_cluster_address_lab-head@)');
    expect(head).toContain('NodeName=lab-gpu-2 NodeAddr=@gpu_cluster_address_lab-gpu-2@ Gres=gpu:rtx_2080_ti:2');
    expect(head).toContain("SLURM_CLUSTER_WORKER_ADDRESSES='@gpu_cluster_address_lab-gpu-1@ @gpu_cluster_address_lab-gpu-2@'");
    expect(byName.get('lab-gpu-1')).toContain("SLURM_CLUSTER_HEAD_ADDRESS='@gpu_cluster_address_lab-head@'");
    expect(byName.get('lab-gpu-2')).toBe(byName.get('lab-gpu-1'));
    // No reference in user_data: it stays known at synth (and the recipe key stable).
    for (const text of byName.values()) expect(text).not.toMatch(/(^|[^$])\$\{(element|openstack_)/);
    const sshConfig = Object.entries<any>(json.output).find(([k]) => k.startsWith('Lab_SshConfig'))![1].value;
    expect(sshConfig).toContain(`Host lab-gpu-2\n  HostName ${portRef(json, 'lab-gpu-2')}\n`);
    expect(sshConfig).not.toContain('@gpu_cluster_address_');
  });

  test('cidr with an existing network is refused', () => {
    expect(() => build({ cidr: '10.9.0.0/24' }, true)).toThrow(/^gpu-cluster\/Lab: cidr applies only to a new network, but network is given, got '10\.9\.0\.0\/24'; leave cidr out$/);
  });
});

test('access from outside: one SshConfig (head, workers through it), each worker\'s SshCommand jumps through the head', () => {
  const { json } = build();
  const outputs = Object.entries<any>(json.output);
  expect(outputs.filter(([k]) => k.includes('SshConfig')).map(([k]) => k)).toEqual([expect.stringMatching(/^Lab_SshConfig/)]);
  const floatingIp = Object.keys(json.resource.openstack_networking_floatingip_v2)[0];
  const worker = outputs.find(([k]) => /lab-gpu-1.*SshCommand/.test(k))![1].value;
  expect(worker).toBe(`ssh -i ~/.ssh/id_ed25519 -J ubuntu@\${openstack_networking_floatingip_v2.${floatingIp}.address} ubuntu@` +
    '${element(openstack_networking_port_v2.Lab_Workers-gpu_lab-gpu-1_Port_' + worker.split('Lab_Workers-gpu_lab-gpu-1_Port_')[1]);
  const head = outputs.find(([k]) => /Lab_HeadSsh/.test(k))![1].value;
  expect(head).not.toContain('-J');
  const config = outputs.find(([k]) => k.startsWith('Lab_SshConfig'))![1].value;
  expect(config).toContain('Host lab-gpu-1\n  HostName 10.42.0.253\n  User ubuntu\n  IdentityFile ~/.ssh/id_ed25519\n  ProxyJump lab-head\n');
});

describe('powerSaving: idle workers shelved, unshelved for jobs', () => {
  const AUTH = 'https://keystone.example:5000/v3';
  const credentials = (json: any) => Object.entries<any>(json.resource.openstack_identity_application_credential_v3 ?? {});
  const headOf = (json: any) => servers(json).find((s) => s.name === 'lab-head');

  test('slurm.conf gets the power saving settings with the defaults (30 min idle, 20 min resume, 10 min shelve); partitions MaxTime the week', () => {
    const { json } = build({ powerSaving: { authUrl: AUTH } });
    const head = userDataOf(json, headOf(json));
    for (const line of ['SuspendProgram=/opt/gpu-cluster/bin/slurm-suspend', 'ResumeProgram=/opt/gpu-cluster/bin/slurm-resume',
      'SuspendTime=1800', 'ResumeTimeout=1200', 'SuspendTimeout=600']) {
      expect(head).toContain(`${line}\n`);
    }
    // idle_on_node_suspend would clear an administrator's drain at the shelve (real-slurm.test.ts).
    expect(head).not.toMatch(/^\s*SlurmctldParameters=/m);
    expect(head).toContain('PartitionName=gpu Nodes=lab-gpu-1,lab-gpu-2 Default=YES MaxTime=10080 State=UP');
    expect(head).toContain('/opt/gpu-cluster/bin/slurm-resume');
  });

  test('off by default: no power saving lines, no credential; MaxTime still the week', () => {
    const { json } = build();
    expect(userDataOf(json, headOf(json))).not.toContain('SuspendProgram=');
    expect(credentials(json)).toEqual([]);
    expect(userDataOf(json, headOf(json))).toContain('MaxTime=10080 State=UP');
  });

  test('an application credential restricted to the compute API\'s server calls, expiring at the week; its secret only as a reference in cdk.tf.json', () => {
    const { json, dir } = build({ powerSaving: { authUrl: AUTH, region: 'RegionOne' } });
    // The provider's own schema (3.4.0) takes the credential's attributes and blocks.
    expectStackPassesChecks(withQuotaInDir(dir));
    const [[id, cred]] = credentials(json);
    expect(cred.unrestricted).toBe(false);
    // Named roles, not the deploying token's (an admin's deploy would hand out admin otherwise).
    expect(cred.roles).toEqual(['member']);
    expect(cred.expires_at).toBe('${timeadd(plantimestamp(), "168h")}');
    expect(cred.lifecycle).toEqual({ ignore_changes: ['expires_at'] });
    expect(cred.access_rules).toEqual(expect.arrayContaining([
      { service: 'compute', method: 'POST', path: '/v2.1/servers/*/action' },
      { service: 'compute', method: 'GET', path: '/v2.1/servers/*' },
    ]));
    expect(cred.access_rules.every((r: any) => r.service === 'compute')).toBe(true);
    expect(cred).not.toHaveProperty('secret');
    const meta = headOf(json).metadata;
    expect(meta.gpu_cluster_os_credential_secret).toBe(`\${openstack_identity_application_credential_v3.${id}.secret}`);
    expect(meta.gpu_cluster_os_credential_id).toBe(`\${openstack_identity_application_credential_v3.${id}.id}`);
    expect(meta.gpu_cluster_os_auth_url).toBe(AUTH);
    expect(meta.gpu_cluster_os_region).toBe('RegionOne');
    // Only the head calls the API.
    for (const s of servers(json).filter((x) => x.name !== 'lab-head')) expect(JSON.stringify(s.metadata ?? {})).not.toContain('credential');
  });

  test('bad settings fail at synth naming the construct, the value and the fix', () => {
    expect(() => build({ powerSaving: { authUrl: 'keystone:5000' } })).toThrow(
      "gpu-cluster/Lab: powerSaving.authUrl must be Keystone's URL of up to 255 characters, e.g. 'https://cloud.example:5000/v3', got 'keystone:5000'");
    expect(() => build({ powerSaving: { authUrl: AUTH, region: 'Region One' } })).toThrow(
      "gpu-cluster/Lab: powerSaving.region must be a region name (letters, digits, '_', '.', '-'), e.g. 'RegionOne', got 'Region One'");
    expect(() => build({ powerSaving: { authUrl: AUTH, suspendAfterMinutes: 0 } })).toThrow(
      'gpu-cluster/Lab: powerSaving.suspendAfterMinutes must be a whole number of minutes from 1 to 10080, got 0');
    expect(() => build({ powerSaving: { authUrl: AUTH, resumeTimeoutMinutes: 2.5 } })).toThrow(
      'gpu-cluster/Lab: powerSaving.resumeTimeoutMinutes must be a whole number of minutes from 1 to 120, got 2.5');
    expect(() => build({ powerSaving: { authUrl: AUTH, roles: [] } })).toThrow(
      "gpu-cluster/Lab: powerSaving.roles must be one or more Keystone role names (letters, digits, '_', '.', '-'), e.g. ['member'], got []");
    expect(() => build({ powerSaving: { authUrl: AUTH, roles: ['member', 'load balancer'] } })).toThrow(
      'got ["member","load balancer"]');
  });
});

describe('node options of the head and the worker groups', () => {
  const rolloutOf = (json: any, name: string) => {
    const server = Object.entries<any>(json.resource.openstack_compute_instance_v2).find(([, v]) => v.name === name)![1];
    const address = server.lifecycle.replace_triggered_by[0].replace(/^terraform_data\./, '');
    return json.resource.terraform_data[address].triggers_replace;
  };

  test('a worker group takes rolloutToken, tags and lifetimeWarningHours for each of its workers; the head its own', () => {
    const { json } = build({
      headOptions: { rolloutToken: 'head-1', tags: ['slurm-head'] },
      workerGroups: [
        { partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 2, rolloutToken: 'w-7', tags: ['slurm-worker'], lifetimeWarningHours: 2 },
        { partition: 'small', flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), count: 1 },
      ],
    });
    expect(rolloutOf(json, 'lab-gpu-1')).toEqual({ token: 'w-7' });
    expect(rolloutOf(json, 'lab-gpu-2')).toEqual({ token: 'w-7' });
    expect(rolloutOf(json, 'lab-small-1')).toEqual({ token: '' });
    expect(rolloutOf(json, 'lab-head')).toEqual({ token: 'head-1' });
    const byName = new Map(servers(json).map((s) => [s.name, s]));
    expect(byName.get('lab-gpu-1').tags).toEqual(['slurm-worker']);
    expect(byName.get('lab-head').tags).toEqual(['slurm-head']);
    expect(byName.get('lab-small-1').tags).toEqual(['gpu-node', 'rtx_2060_super']);
    expect(userDataOf(json, byName.get('lab-gpu-1'))).toContain("GPU_NODE_WARN_HOURS='2'");
  });

  test('metadata of a group joins the cluster\'s address keys, which win', () => {
    const { json } = build({
      workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1,
        metadata: { team: 'vision', 'gpu_cluster_address_lab-head': 'spoofed' } }],
    }, true);
    const worker = servers(json).find((s) => s.name === 'lab-gpu-1');
    expect(worker.metadata.team).toBe('vision');
    expect(worker.metadata['gpu_cluster_address_lab-head']).toMatch(/^\$\{element\(openstack_networking_port_v2\./);
  });

  test('a typo in a group\'s node options names the group and the fix', () => {
    expect(() => build({ workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1, rolloutTokens: 'x' } as any] }))
      .toThrow(/gpu-cluster\/Lab: workerGroups\[0\]\.rolloutTokens must be a prop of SlurmWorkerGroupOptions, got 'x'\. Did you mean 'rolloutToken'\?/);
  });

  test('the cluster takes its network\'s cloud profile: the head\'s floating IP comes from that cloud\'s pool', () => {
    const campus = CloudProfile.HFD_NETLAB.withExternalNetwork('campus-ext');
    const { json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'gpu-cluster');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      new SlurmCluster(stack, 'Lab', {
        network: GpuNetwork.forUser(stack, 'Net', 'alice', campus),
        workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }],
      });
      return stack;
    });
    expect(Object.values<any>(json.resource.openstack_networking_floatingip_v2).map((f) => f.pool)).toEqual(['campus-ext']);
  });

  test('a cloudProfile other than the network\'s is an error naming both', () => {
    const campus = CloudProfile.HFD_NETLAB.withExternalNetwork('campus-ext');
    expect(() => synthToDir((app) => {
      const stack = new TerraformStack(app, 'gpu-cluster');
      new SlurmCluster(stack, 'Lab', {
        network: GpuNetwork.forUser(stack, 'Net', 'alice', campus),
        cloudProfile: CloudProfile.HFD_NETLAB,
        workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }],
      });
      return stack;
    })).toThrow(/gpu-cluster\/Lab: cloudProfile 'hfd-netlab' differs from the profile of network 'alice-net' \('hfd-netlab'\)/);
  });
});
