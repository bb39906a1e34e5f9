import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { GpuModel } from '../../src/cloud/gpu-model';
import { GpuRecipe } from '../../src/recipe/gpu-recipe';
import { renderSlurmConfig, SlurmClusterModel } from '../../src/slurm/slurm-config';
import { CLUSTER_ENV_PATH, slurmRecipeParts, withParts } from '../../src/slurm/slurm-recipe';

const MODEL: SlurmClusterModel = {
  clusterName: 'lab',
  head: { name: 'lab-head', address: '10.42.0.10' },
  groups: [{ partition: 'gpu', gpuType: 'rtx_2080_ti', gpusPerNode: 2, nodes: [{ name: 'lab-w1', address: '10.42.0.11' }, { name: 'lab-w2', address: '10.42.0.12' }] }],
  slurmVersion: '23.11',
};
const byPath = (files: { path: string; content: string; permissions?: string }[]) => new Map(files.map((f) => [f.path, f]));

test('head: the scripts, cluster.env and the rendered Slurm files; its command runs the head setup', () => {
  const parts = slurmRecipeParts(MODEL, 'lab-head');
  const files = byPath(parts.files);
  const rendered = renderSlurmConfig(MODEL);
  expect([...files.keys()].sort()).toEqual([
    CLUSTER_ENV_PATH,
    '/etc/profile.d/gpu-cluster-torchrun.sh',
    '/etc/slurm/cgroup.conf', '/etc/slurm/gres.conf', '/etc/slurm/nodes.conf.in', '/etc/slurm/slurm.conf',
    '/opt/gpu-cluster/bin/slurm-cluster-lib.sh', '/opt/gpu-cluster/bin/slurm-cluster-ready',
    '/opt/gpu-cluster/bin/slurm-head-setup',
  ]);
  expect(files.get('/etc/slurm/slurm.conf')!.content).toBe(rendered.slurmConf);
  expect(files.get('/opt/gpu-cluster/bin/slurm-head-setup')).toMatchObject({
    permissions: '0755', content: fs.readFileSync(path.resolve(__dirname, '../../cloud-init/slurm/slurm-head-setup'), 'utf8'),
  });
  expect(parts.commands).toEqual(['/opt/gpu-cluster/bin/slurm-head-setup']);
});

test('worker: no Slurm configuration at synth (it copies the head\'s), and its command names the node', () => {
  const parts = slurmRecipeParts(MODEL, 'lab-w2');
  expect(parts.files.filter((f) => f.path.startsWith('/etc/slurm/'))).toEqual([]);
  expect(byPath(parts.files).get(CLUSTER_ENV_PATH)!.content).toBe(renderSlurmConfig(MODEL).clusterEnv);
  expect(parts.commands).toEqual(['SLURM_NODE_NAME=lab-w2 /opt/gpu-cluster/bin/slurm-worker-setup']);
  expect(() => slurmRecipeParts(MODEL, 'lab-w9')).toThrow(/'lab-w9' is neither the head nor a worker/);
});

test('each role gets only its scripts: the head the power programs when power saving is on, every worker the GPU gate and the HealthCheckProgram', () => {
  const scripts = (model: SlurmClusterModel, node: string) =>
    slurmRecipeParts(model, node).files.map((f) => f.path).filter((p) => p.startsWith('/opt/gpu-cluster/bin/')).sort();
  const power: SlurmClusterModel = {
    ...MODEL,
    powerSaving: { suspendTimeSeconds: 1800, suspendTimeoutSeconds: 600, resumeTimeoutSeconds: 1200, programDir: '/opt/gpu-cluster/bin', cloud: 'gpu-cluster', cloudsYaml: '/etc/gpu-cluster/clouds.yaml' },
  };
  expect(scripts(power, 'lab-head')).toEqual(['slurm-cluster-lib.sh', 'slurm-cluster-ready', 'slurm-head-setup', 'slurm-resume', 'slurm-suspend']
    .map((s) => `/opt/gpu-cluster/bin/${s}`));
  for (const model of [MODEL, power]) {
    expect(scripts(model, 'lab-w1')).toEqual(['slurm-cluster-lib.sh', 'slurm-health-check', 'slurm-worker-gate', 'slurm-worker-setup'].map((s) => `/opt/gpu-cluster/bin/${s}`));
  }
  // The head with power saving fits Nova's user_data limit too (what Nova gets: gzip, then base64).
  const recipe = withParts(new GpuRecipe({ name: 'slurm', packages: ['nfs-common'] }), 'slurm', slurmRecipeParts(power, 'lab-head'));
  expect(recipe._render({ expectedGpus: 2, expectedModel: GpuModel.RTX_2080_TI }).base64Bytes).toBeLessThan(GpuRecipe.NOVA_USER_DATA_LIMIT);
});

test('the parts fit a GpuRecipe: its checks pass and the user_data stays under Nova\'s limit, with no key in it', () => {
  for (const name of ['lab-head', 'lab-w1']) {
    const recipe = withParts(new GpuRecipe({ name: 'slurm', packages: ['nfs-common'] }), 'slurm', slurmRecipeParts(MODEL, name));
    const data = recipe._render({ expectedGpus: 2, expectedModel: GpuModel.RTX_2080_TI });
    // slurm-cluster-lib.sh sources the server-metadata library from the node's lib/ (where a user file may not go).
    expect(writtenPaths(data.text)).toContain('/opt/gpu-node/lib/gpu-node-openstack.sh');
    // Nova counts the gzip+base64 form (README, "user_data"); the plain text may be larger. About half the limit:
    // under 32 KiB until a worker learned to re-register after a refused shelve (gpu_slurm_reregister, 0.4 KiB).
    expect(data.base64Bytes).toBeLessThan(34 * 1024);
    expect(data.text).not.toMatch(/BEGIN .*PRIVATE KEY/);
  }
});

test('a plain recipe ships no server-metadata library (only Slurm nodes and idle-shelve nodes read it)', () => {
  const data = new GpuRecipe({ name: 'plain' })._render({ expectedGpus: 1 });
  expect(writtenPaths(data.text)).not.toContain('/opt/gpu-node/lib/gpu-node-openstack.sh');
  expect(writtenPaths(data.text)).toContain('/opt/gpu-node/lib/gpu-node-common.sh');
});

function writtenPaths(cloudConfig: string): string[] {
  return (YAML.parse(cloudConfig.replace(/^#cloud-config\n/, '')).write_files as { path: string }[]).map((f) => f.path);
}
