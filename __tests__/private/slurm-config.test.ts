import { gresType, renderSlurmConfig, SlurmClusterSpec, SLURM_OF_UBUNTU } from '../../src/private/slurm-config';
import { inOrder } from '../support/messages';

const worker = (name: string, address?: string) => ({ name, address, cpus: 8, realMemoryMiB: 30000, gpus: 2, gpuType: gresType('RTX_2080_TI') });
const spec = (over: Partial<SlurmClusterSpec> = {}): SlurmClusterSpec => ({
  clusterName: 'gpu_cluster',
  controlHost: 'head',
  controlAddress: '10.42.0.10',
  partitions: [{ name: 'rtx2080', nodes: [worker('worker-1', '10.42.0.11'), worker('worker-2', '10.42.0.12')] }],
  slurmVersion: '23.11',
  ...over,
});
const lines = (text: string) => text.split('\n');

describe('renderSlurmConfig', () => {
  test('slurm.conf: head, munge, cons_tres, GRES, one NodeName line per worker, the first partition the default', () => {
    const { slurmConf } = renderSlurmConfig('c', spec({
      partitions: [...spec().partitions, { name: 'cpu', nodes: [{ name: 'cpu-1', cpus: 4, realMemoryMiB: 8000, gpus: 0, gpuType: '' }] }],
    }));
    expect(lines(slurmConf)).toEqual(expect.arrayContaining([
      'ClusterName=gpu_cluster', 'SlurmctldHost=head(10.42.0.10)', 'AuthType=auth/munge', 'GresTypes=gpu',
      'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core_Memory', 'ReturnToService=2',
      'NodeName=worker-1 NodeAddr=10.42.0.11 CPUs=8 RealMemory=30000 Gres=gpu:rtx2080ti:2 State=UNKNOWN',
      'NodeName=worker-2 NodeAddr=10.42.0.12 CPUs=8 RealMemory=30000 Gres=gpu:rtx2080ti:2 State=UNKNOWN',
      'NodeName=cpu-1 CPUs=4 RealMemory=8000 State=UNKNOWN',
      'PartitionName=rtx2080 Nodes=worker-1,worker-2 Default=YES MaxTime=INFINITE State=UP',
      'PartitionName=cpu Nodes=cpu-1 Default=NO MaxTime=INFINITE State=UP',
    ]));
    // No key twice (slurmctld takes the last and warns), no switch plugin (removed in 23.02).
    const keys = lines(slurmConf).filter((l) => /^[A-Za-z]+=/.test(l) && !/^(NodeName|PartitionName)=/.test(l)).map((l) => l.split('=')[0]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(slurmConf).not.toContain('SwitchType');
  });

  test('gres.conf names the device files per node: a range for several GPUs, one file for one', () => {
    const { gresConf } = renderSlurmConfig('c', spec({
      partitions: [{ name: 'p', nodes: [worker('w1'), { ...worker('w2'), gpus: 1, gpuType: 't4' }] }],
    }));
    expect(lines(gresConf).slice(1)).toEqual([
      'NodeName=w1 Name=gpu Type=rtx2080ti File=/dev/nvidia[0-1]',
      'NodeName=w2 Name=gpu Type=t4 File=/dev/nvidia0',
      '',
    ]);
    expect(gresConf).not.toContain('AutoDetect');
  });

  test.each(['22.05', '23.11'])('Slurm %s: cgroup process tracking and device confinement', (version) => {
    const { slurmConf, cgroupConf } = renderSlurmConfig('c', spec({ slurmVersion: version }));
    expect(lines(slurmConf)).toEqual(expect.arrayContaining(['ProctrackType=proctrack/cgroup', 'TaskPlugin=task/cgroup,task/affinity']));
    expect(lines(cgroupConf)).toEqual(expect.arrayContaining(['ConstrainCores=yes', 'ConstrainRAMSpace=yes', 'ConstrainDevices=yes']));
    // Removed or deprecated keys that 23.11 warns about or refuses.
    expect(cgroupConf).not.toMatch(/CgroupAutomount|CgroupMountpoint|TaskAffinity/);
  });

  test('Slurm 21.08 (Ubuntu 22.04, cgroup v2 host): no cgroup plugins, which 21.08 has only for v1', () => {
    const { slurmConf, cgroupConf } = renderSlurmConfig('c', spec({ slurmVersion: SLURM_OF_UBUNTU['22.04'] }));
    expect(lines(slurmConf)).toEqual(expect.arrayContaining(['ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/affinity']));
    expect(slurmConf).not.toContain('cgroup');
    expect(cgroupConf).not.toMatch(/Constrain/);
  });

  test('without a controlAddress the head is named by hostname only', () => {
    expect(lines(renderSlurmConfig('c', spec({ controlAddress: undefined })).slurmConf)).toContain('SlurmctldHost=head');
  });

  test('gresType: model ids become lowercase alphanumerics', () => {
    expect(['RTX_2080_TI', 'RTX_2060_SUPER', 'A100_80GB', 'L40S'].map(gresType)).toEqual(['rtx2080ti', 'rtx2060super', 'a10080gb', 'l40s']);
  });

  test.each<[string, Partial<SlurmClusterSpec>, string[]]>([
    ['a bad version', { slurmVersion: '23' }, ["c: slurmVersion must be major.minor like '23.11', got '23'"]],
    ['an upper-case cluster name', { clusterName: 'GPU' }, ['c: the Slurm cluster name must be 1-40 lowercase', "got 'GPU'"]],
    ['a head name with a dot', { controlHost: 'head.lab' }, ["c: the head's hostname must be a DNS label", "got 'head.lab'"]],
    ['no partitions', { partitions: [] }, ['c: a Slurm cluster needs at least one worker group']],
    ['an empty partition', { partitions: [{ name: 'p', nodes: [] }] }, ["c: partition 'p' has no nodes"]],
    ['a partition twice', { partitions: [{ name: 'p', nodes: [worker('a')] }, { name: 'p', nodes: [worker('b')] }] }, ["c: partition names must be unique", "got 'p'"]],
    ['a worker named like the head', { partitions: [{ name: 'p', nodes: [worker('head')] }] }, ["c: node name 'head' is used twice"]],
    ['a worker twice', { partitions: [{ name: 'p', nodes: [worker('a'), worker('a')] }] }, ["c: node name 'a' is used twice"]],
    ['zero CPUs', { partitions: [{ name: 'p', nodes: [{ ...worker('a'), cpus: 0 }] }] }, ["c: cpus of node 'a' must be a whole number of at least 1, got 0"]],
    ['a bad GRES type', { partitions: [{ name: 'p', nodes: [{ ...worker('a'), gpuType: 'RTX 2080' }] }] }, ["c: the GRES type of node 'a'", "got 'RTX 2080'"]],
  ])('%s is refused with the path and the value', (_why, over, parts) => {
    expect(() => renderSlurmConfig('c', spec(over))).toThrow(inOrder(...parts));
  });
});
