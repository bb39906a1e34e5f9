import { GPU_CLUSTER_REQUIRED_VARS } from '../../src/core/contract.generated';
import { gresTypeOf, renderClusterEnv, renderSlurmConfig, slurmHasCgroupV2, slurmHasNonePlugins, SlurmClusterModel } from '../../src/slurm/slurm-config';

const MODEL: SlurmClusterModel = {
  clusterName: 'lab',
  head: { name: 'lab-head', address: '10.42.0.10' },
  groups: [
    { partition: 'rtx2080', gpuType: 'rtx_2080_ti', gpusPerNode: 2, nodes: [{ name: 'lab-w1', address: '10.42.0.11' }, { name: 'lab-w2', address: '10.42.0.12' }] },
    { partition: 'rtx2060', gpuType: 'rtx_2060_super', gpusPerNode: 1, nodes: [{ name: 'lab-s1', address: '10.42.0.21' }] },
  ],
  slurmVersion: '23.11',
};
const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
const setting = (text: string, key: string) => lines(text).filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe('renderSlurmConfig', () => {
  const files = renderSlurmConfig(MODEL);

  test('slurm.conf: cluster, controller, munge, GPUs as GRES, one partition per worker group, nodes.conf included', () => {
    const c = files.slurmConf;
    expect(setting(c, 'ClusterName')).toEqual(['lab']);
    expect(setting(c, 'SlurmctldHost')).toEqual(['lab-head(10.42.0.10)']);
    expect(setting(c, 'AuthType')).toEqual(['auth/munge']);
    expect(setting(c, 'GresTypes')).toEqual(['gpu']);
    expect(setting(c, 'SelectType')).toEqual(['select/cons_tres']);
    expect(setting(c, 'ReturnToService')).toEqual(['2']);
    expect(lines(c)).toContain('Include /etc/slurm/nodes.conf');
    expect(setting(c, 'PartitionName')).toEqual([
      'rtx2080 Nodes=lab-w1,lab-w2 Default=YES MaxTime=INFINITE State=UP',
      'rtx2060 Nodes=lab-s1 Default=NO MaxTime=INFINITE State=UP',
    ]);
    // Each key once: Slurm takes the last, so a duplicate would hide a mistake.
    const keys = lines(c).map((l) => l.split('=')[0]).filter((k) => k !== 'PartitionName' && !k.startsWith('Include'));
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('slurm.conf: slurmd runs the workers\' GPU check every 5 minutes on nodes in any state (drained ones too, to resume them)', () => {
    const c = files.slurmConf;
    expect(setting(c, 'HealthCheckProgram')).toEqual(['/opt/gpu-cluster/bin/slurm-health-check']);
    expect(setting(c, 'HealthCheckInterval')).toEqual(['300']);
    expect(setting(c, 'HealthCheckNodeState')).toEqual(['ANY']);
    // With or without power saving, on every Slurm release the renderer knows.
    for (const slurmVersion of ['21.08', '22.05', '23.11']) {
      expect(setting(renderSlurmConfig({ ...MODEL, slurmVersion }).slurmConf, 'HealthCheckInterval')).toEqual(['300']);
    }
  });

  test('slurm.conf: a sandbox moves the health check program and its interval; a bad one is refused', () => {
    const c = renderSlurmConfig({ ...MODEL, site: { healthCheckProgram: '/tmp/box/health', healthCheckIntervalSeconds: 2 } }).slurmConf;
    expect(setting(c, 'HealthCheckProgram')).toEqual(['/tmp/box/health']);
    expect(setting(c, 'HealthCheckInterval')).toEqual(['2']);
    expect(() => renderSlurmConfig({ ...MODEL, site: { healthCheckIntervalSeconds: 0 } }))
      .toThrow('SlurmCluster lab: site.healthCheckIntervalSeconds must be a whole number above 0, got 0');
    expect(() => renderSlurmConfig({ ...MODEL, site: { healthCheckProgram: 'health' } }))
      .toThrow("SlurmCluster lab: site.healthCheckProgram must be an absolute path, got 'health'");
  });

  test('slurm.conf power saving: our programs and times, and no SlurmctldParameters (idle_on_node_suspend would lift an admin\'s drain at the shelve)', () => {
    const powerSaving = { suspendTimeSeconds: 1800, suspendTimeoutSeconds: 600, resumeTimeoutSeconds: 1200, programDir: '/opt/gpu-cluster/bin', cloud: 'gpu-cluster', cloudsYaml: '/etc/gpu-cluster/clouds.yaml' };
    for (const slurmVersion of ['21.08', '22.05', '23.11']) {
      const c = renderSlurmConfig({ ...MODEL, slurmVersion, powerSaving }).slurmConf;
      expect(setting(c, 'SuspendProgram')).toEqual(['/opt/gpu-cluster/bin/slurm-suspend']);
      expect(setting(c, 'ResumeProgram')).toEqual(['/opt/gpu-cluster/bin/slurm-resume']);
      expect([setting(c, 'SuspendTime'), setting(c, 'SuspendTimeout'), setting(c, 'ResumeTimeout')]).toEqual([['1800'], ['600'], ['1200']]);
      expect(setting(c, 'SlurmctldParameters')).toEqual([]);
      // SuspendExcStates (23.02 and later) is no key of 22.05's slurmctld, which refuses a config with an unknown key.
      expect(setting(c, 'SuspendExcStates')).toEqual([]);
      expect(c).not.toContain('idle_on_node_suspend');
    }
    expect(setting(files.slurmConf, 'SuspendProgram')).toEqual([]);
  });

  test('nodes.conf.in: every worker with its address and Gres=gpu:<type>:<n>, no hardware yet', () => {
    expect(lines(files.nodesConfTemplate)).toEqual([
      'NodeName=lab-w1 NodeAddr=10.42.0.11 Gres=gpu:rtx_2080_ti:2 State=UNKNOWN',
      'NodeName=lab-w2 NodeAddr=10.42.0.12 Gres=gpu:rtx_2080_ti:2 State=UNKNOWN',
      'NodeName=lab-s1 NodeAddr=10.42.0.21 Gres=gpu:rtx_2060_super:1 State=UNKNOWN',
    ]);
  });

  test('gres.conf: the device files of each group', () => {
    expect(lines(files.gresConf)).toEqual([
      'NodeName=lab-w1,lab-w2 Name=gpu Type=rtx_2080_ti File=/dev/nvidia[0-1]',
      'NodeName=lab-s1 Name=gpu Type=rtx_2060_super File=/dev/nvidia0',
    ]);
  });

  // Per release, checked against each release's parser (SchedMD/slurm tags slurm-21-08-5-1, slurm-22-05-8-1,
  // slurm-23-11-4-1: read_config.c and cgroup.c): only these lines differ.
  const differing = (v: string) => {
    const f = renderSlurmConfig({ ...MODEL, slurmVersion: v });
    const conf = lines(f.slurmConf).filter((l) => /^(ProctrackType|TaskPlugin|MpiDefault|JobAcctGatherType|AccountingStorageType|CredType|CryptoType)=/.test(l));
    return { conf, cgroup: lines(f.cgroupConf) };
  };
  test('Slurm 21.08 (Ubuntu 22.04): /proc tracking, no cgroup plugin, the none plugins named', () => {
    expect([slurmHasCgroupV2('21.08'), slurmHasNonePlugins('21.08')]).toEqual([false, true]);
    expect(differing('21.08')).toEqual({
      conf: ['CredType=cred/munge', 'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/affinity', 'MpiDefault=none',
        'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none'],
      cgroup: [],
    });
  });
  test('Slurm 22.05 (Debian 12, the real-daemon test): cgroup v2, the none plugins named', () => {
    expect(differing('22.05')).toEqual({
      conf: ['CredType=cred/munge', 'ProctrackType=proctrack/cgroup', 'TaskPlugin=task/cgroup,task/affinity', 'MpiDefault=none',
        'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none'],
      cgroup: ['CgroupPlugin=autodetect', 'ConstrainCores=yes', 'ConstrainDevices=yes', 'ConstrainRAMSpace=no'],
    });
  });
  test('Slurm 23.11 (Ubuntu 24.04): cgroup v2, no none plugins (23.11 removed them), no CgroupAutomount (defunct)', () => {
    expect(differing('23.11')).toEqual({
      conf: ['CredType=cred/munge', 'ProctrackType=proctrack/cgroup', 'TaskPlugin=task/cgroup,task/affinity'],
      cgroup: ['CgroupPlugin=autodetect', 'ConstrainCores=yes', 'ConstrainDevices=yes', 'ConstrainRAMSpace=no'],
    });
    const f = renderSlurmConfig({ ...MODEL, slurmVersion: '23.11' });
    expect(f.slurmConf).not.toMatch(/\/none|CryptoType/);
    expect(f.cgroupConf).not.toContain('CgroupAutomount');
  });

  test('cluster.env: what the node-side scripts read, quoted for bash', () => {
    expect(lines(files.clusterEnv)).toEqual([
      "SLURM_CLUSTER_NAME='lab'",
      "SLURM_CLUSTER_HEAD='lab-head'",
      "SLURM_CLUSTER_HEAD_ADDRESS='10.42.0.10'",
      "SLURM_CLUSTER_CONF_DIR='/etc/slurm'",
      "SLURM_CLUSTER_SHARE_DIR='/srv/gpu-cluster'",
      "SLURM_CLUSTER_SHARED_DIR='/shared'",
      "SLURM_CLUSTER_WORKERS='lab-w1=gpu:rtx_2080_ti:2 lab-w2=gpu:rtx_2080_ti:2 lab-s1=gpu:rtx_2060_super:1'",
      "SLURM_CLUSTER_WORKER_ADDRESSES='10.42.0.11 10.42.0.12 10.42.0.21'",
      "SLURM_CLUSTER_PARTITIONS='rtx2080=2:2 rtx2060=1:1'",
      'SLURM_CLUSTER_READY_TIMEOUT=1800',
      'SLURM_CLUSTER_POWER_SAVING=0',
      // Power saving's settings: empty without it, but written, as the contract requires every variable.
      "SLURM_CLUSTER_OS_CLOUD=''",
      "SLURM_CLUSTER_OS_CONFIG=''",
      "SLURM_CLUSTER_RESUME_TIMEOUT=''",
      "SLURM_CLUSTER_SUSPEND_TIMEOUT=''",
    ]);
  });

  test('cluster.env holds exactly the contract\'s GPU_CLUSTER_REQUIRED_VARS, in its order, with power saving or without', () => {
    const names = (text: string) => lines(text).map((l) => l.split('=')[0]);
    expect(names(files.clusterEnv)).toEqual([...GPU_CLUSTER_REQUIRED_VARS]);
    const power = renderSlurmConfig({ ...MODEL, powerSaving: {
      suspendTimeSeconds: 1800, suspendTimeoutSeconds: 600, resumeTimeoutSeconds: 1200, programDir: '/opt/gpu-cluster/bin', cloud: 'gpu-cluster', cloudsYaml: '/etc/gpu-cluster/clouds.yaml',
    } }).clusterEnv;
    expect(names(power)).toEqual([...GPU_CLUSTER_REQUIRED_VARS]);
    expect(lines(power)).toEqual(expect.arrayContaining(['SLURM_CLUSTER_POWER_SAVING=1', "SLURM_CLUSTER_OS_CLOUD='gpu-cluster'", 'SLURM_CLUSTER_RESUME_TIMEOUT=1200']));
  });

  test('the cluster.env renderer refuses a variable the contract does not list, and a contract variable it does not write', () => {
    const all = Object.fromEntries(GPU_CLUSTER_REQUIRED_VARS.map((v) => [v, '']));
    expect(lines(renderClusterEnv(all)).map((l) => l.split('=')[0])).toEqual([...GPU_CLUSTER_REQUIRED_VARS]);
    expect(() => renderClusterEnv({ ...all, SLURM_CLUSTER_NEW: 1 }))
      .toThrow(/cluster\.env and GPU_CLUSTER_REQUIRED_VARS in cloud-init\/node\/lib\/gpu-node-contract\.sh differ \(not in the contract: SLURM_CLUSTER_NEW; not written: none\)/);
    const { SLURM_CLUSTER_WORKERS: _workers, ...withoutWorkers } = all;
    expect(() => renderClusterEnv(withoutWorkers)).toThrow(/not in the contract: none; not written: SLURM_CLUSTER_WORKERS/);
  });

  test('no munge key or other secret in any rendered file', () => {
    for (const text of Object.values(files)) expect(text).not.toMatch(/munge\.key|BEGIN|PRIVATE|password/i);
  });

  test.each([
    [{ clusterName: 'Lab' }, /clusterName must be lower-case/],
    [{ slurmVersion: 'latest' }, /slurmVersion must look like 21.08/],
    [{ groups: [] }, /needs at least one worker group/],
    [{ head: { name: 'lab-w1', address: '10.42.0.10' } }, /node name 'lab-w1' is used twice/],
    [{ head: { name: 'Head_1', address: '10.42.0.10' } }, /node name must be a host name .* got 'Head_1'/],
    [{ head: { name: 'lab-head', address: '' } }, /node lab-head needs an address/],
    [{ groups: [{ ...MODEL.groups[0], gpusPerNode: 0 }] }, /at least 1 GPU per node, got 0/],
    [{ groups: [{ ...MODEL.groups[0], gpuType: 'RTX 2080' }] }, /gpuType must be lower-case/],
    [{ groups: [MODEL.groups[0], { ...MODEL.groups[1], partition: 'rtx2080' }] }, /partition 'rtx2080' is used twice/],
    [{ readyTimeoutSeconds: 1.5 }, /readyTimeoutSeconds must be a whole number/],
  ])('rejects %j', (change, message) => {
    expect(() => renderSlurmConfig({ ...MODEL, ...change } as SlurmClusterModel)).toThrow(message);
  });
});

test('gresTypeOf: GPU model ids to GRES type names', () => {
  expect(gresTypeOf('RTX_2080_TI')).toBe('rtx_2080_ti');
  expect(gresTypeOf('A100_80GB')).toBe('a100_80gb');
  expect(gresTypeOf('---')).toBe('gpu');
});
