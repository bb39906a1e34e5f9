// Tests for cloud-init/slurm/*: shellcheck, the head's readiness logic and the head/worker setup,
// run in a temp dir with stand-in sinfo/srun/systemctl/... (fixtures/slurm-fakebin) first on PATH.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GPU_CLUSTER_REQUIRED_VARS } from '../../src/core/contract.generated';
import { CONTRACT_FILE } from '../../src/core/node-contract';
import { recipeEnv } from '../support/node-env';
import { addressPlaceholder, renderSlurmConfig, SlurmClusterModel } from '../../src/slurm/slurm-config';
import { testUnless, toolGap } from '../support/skip';

const DIR = path.resolve(__dirname, '../../cloud-init/slurm');
const FAKEBIN = path.join(__dirname, 'fixtures', 'slurm-fakebin');
const LIB = path.join(DIR, 'slurm-cluster-lib.sh');
const READY = path.join(DIR, 'slurm-cluster-ready');

const MODEL: SlurmClusterModel = {
  clusterName: 'lab',
  head: { name: 'head', address: '10.0.0.10' },
  groups: [{
    partition: 'gpu', gpuType: 'rtx_2080_ti', gpusPerNode: 2,
    nodes: [{ name: 'w1', address: '10.0.0.11' }, { name: 'w2', address: '10.0.0.12' }],
  }],
  slurmVersion: '23.11',
  readyTimeoutSeconds: 2,
};

let tmpRoot: string;
beforeAll(() => { tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'slurm-scripts-')); });
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

interface Box { dir: string; fake: string; console: string; env: Record<string, string> }
let counter = 0;
function makeBox(model: SlurmClusterModel = MODEL, files: Record<string, string> = {}): Box {
  const dir = path.join(tmpRoot, `b${++counter}`);
  const fake = path.join(dir, 'fake');
  fs.mkdirSync(fake, { recursive: true });
  fs.mkdirSync(path.join(dir, 'root'));
  fs.writeFileSync(path.join(fake, 'calls.log'), '');
  fs.writeFileSync(path.join(dir, 'console'), '');
  fs.writeFileSync(path.join(dir, 'cluster.env'), renderSlurmConfig(model).clusterEnv);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(fake, f), text);
  return {
    dir, fake, console: path.join(dir, 'console'),
    env: {
      PATH: `${FAKEBIN}:/usr/bin:/bin`,
      FAKE_DIR: fake,
      SLURM_CLUSTER_ENV: path.join(dir, 'cluster.env'),
      // The runner's library and the node contract (console markers) next to it, as on a node.
      SLURM_CLUSTER_NODE_LIB: path.resolve(__dirname, '../../cloud-init/node/lib/gpu-node-common.sh'),
      SLURM_CLUSTER_CONSOLE: path.join(dir, 'console'),
      SLURM_CLUSTER_LOG: path.join(dir, 'cluster.log'),
      SLURM_CLUSTER_POLL: '0.2',
      SLURM_CLUSTER_ROOT: path.join(dir, 'root'),
      SLURM_CLUSTER_SKIP_INSTALL: '1',
    },
  };
}
function run(box: Box, file: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', [file], { env: { ...box.env, ...env }, encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, out: r.stdout + r.stderr };
}
const calls = (box: Box, cmd: string) =>
  fs.readFileSync(path.join(box.fake, 'calls.log'), 'utf8').split('\n').filter((c) => c.startsWith(`${cmd} `));
const consoleText = (box: Box) => fs.readFileSync(box.console, 'utf8');
const GPU_LINES = 'GPU 0: NVIDIA GeForce RTX 2080 Ti (UUID: GPU-a)\nGPU 1: NVIDIA GeForce RTX 2080 Ti (UUID: GPU-b)\n';
const ALL_IDLE = 'w1 idle gpu:rtx_2080_ti:2(S:0)\nw2 idle gpu:rtx_2080_ti:2(S:0)\n';

testUnless(toolGap('shellcheck', 'apt-get install shellcheck'), 'shellcheck -x passes on every Slurm script', () => {
  const files = fs.readdirSync(DIR).map((f) => path.join(DIR, f));
  expect(files.length).toBe(9);
  const r = spawnSync('shellcheck', ['-x', ...files], { encoding: 'utf8', cwd: DIR });
  expect(r.stdout + r.stderr).toBe('');
});

/** What the head publishes on its share for the workers: config files, the ready flag and the munge key. */
function publishHeadShare(root: string): string {
  const share = path.join(root, 'srv/gpu-cluster');
  for (const d of ['slurm', 'nodes', 'secret']) fs.mkdirSync(path.join(share, d), { recursive: true });
  for (const f of ['slurm.conf', 'gres.conf', 'cgroup.conf', 'nodes.conf', 'ready']) fs.writeFileSync(path.join(share, 'slurm', f), `${f}\n`);
  fs.writeFileSync(path.join(share, 'secret/munge.key'), 'k'.repeat(1024));
  return share;
}

describe('slurm-cluster-ready (the head readiness logic)', () => {
  test('every worker idle with its GPUs and the test job lists them all: one READY line', () => {
    const box = makeBox(MODEL, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
    const r = run(box, READY);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('GPU-CLUSTER-READY cluster=lab workers=2 gpus=4 partitions="gpu=2:2"\n');
    expect(consoleText(box)).toBe(r.stdout);
    expect(calls(box, 'srun')).toEqual(['srun -p gpu -N 2 --gres=gpu:2 nvidia-smi -L']);
  });

  test('a worker that registers on a later poll: READY then', () => {
    const box = makeBox({ ...MODEL, readyTimeoutSeconds: 10 }, {
      'sinfo.1': 'w1 idle gpu:rtx_2080_ti:2\nw2 unk* gpu:rtx_2080_ti:2\n',
      'sinfo.2': 'w1 idle gpu:rtx_2080_ti:2\nw2 idle* gpu:rtx_2080_ti:2\n',
      sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES,
    });
    const r = run(box, READY);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^GPU-CLUSTER-READY cluster=lab workers=2 gpus=4 /);
    expect(calls(box, 'sinfo').length).toBe(3);
    expect(r.out).toContain('waiting: worker w2 is not registered (state unk*)');
  });

  test('a worker missing after the timeout: FAILED naming it, no test job', () => {
    const box = makeBox(MODEL, { sinfo: 'w1 idle gpu:rtx_2080_ti:2\n' });
    const t0 = Date.now();
    const r = run(box, READY);
    expect(r.status).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // a 2 s timeout counted in whole seconds
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="worker w2 is not in the cluster"\n');
    expect(consoleText(box)).toBe(r.stdout);
    expect(calls(box, 'srun')).toEqual([]);
  });

  test('a worker that stopped answering (down*): FAILED naming it and its state', () => {
    const box = makeBox(MODEL, { sinfo: 'w1 idle gpu:rtx_2080_ti:2\nw2 down* gpu:rtx_2080_ti:2\n' });
    const r = run(box, READY);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="worker w2 is not registered (state down*)"\n');
  });

  test('a worker with fewer GPUs than its group: FAILED with both gres', () => {
    const box = makeBox(MODEL, { sinfo: 'w1 idle gpu:rtx_2080_ti:1\nw2 idle gpu:rtx_2080_ti:2\n' });
    const r = run(box, READY);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="worker w1 has gres gpu:rtx_2080_ti:1, expected gpu:rtx_2080_ti:2"\n');
  });

  test('no controller: FAILED with what sinfo said', () => {
    const box = makeBox(MODEL);
    const r = run(box, READY);
    expect(r.stdout).toMatch(/^GPU-CLUSTER-FAILED cluster=lab reason="sinfo failed: slurm_load_partitions: Unable to contact/);
  });

  test('the test job fails: FAILED with its last line', () => {
    const box = makeBox(MODEL, { sinfo: ALL_IDLE, 'srun.out': 'srun: error: Unable to allocate resources: Invalid generic resource (gres) specification\n', 'srun.rc': '1' });
    const r = run(box, READY);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="test job on partition gpu failed: srun: error: Unable to allocate resources: Invalid generic resource (gres) specification"\n');
  });

  test('the test job sees fewer GPUs than asked for: FAILED', () => {
    const box = makeBox(MODEL, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES });
    const r = run(box, READY);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="test job on partition gpu saw 2 GPUs, expected 4"\n');
  });

  test('two worker groups: one test job per partition, with each group\'s GPU count', () => {
    const model: SlurmClusterModel = {
      ...MODEL,
      groups: [
        MODEL.groups[0],
        { partition: 'big', gpuType: 'rtx_2060_super', gpusPerNode: 4, nodes: [{ name: 'b1', address: '10.0.0.21' }] },
      ],
    };
    const box = makeBox(model, {
      sinfo: `${ALL_IDLE}b1 idle gpu:rtx_2060_super:4\n`,
      'srun.out': GPU_LINES + GPU_LINES, // 4 lines: enough for both jobs
    });
    const r = run(box, READY);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('GPU-CLUSTER-READY cluster=lab workers=3 gpus=8 partitions="gpu=2:2 big=1:4"\n');
    expect(calls(box, 'srun')).toEqual(['srun -p gpu -N 2 --gres=gpu:2 nvidia-smi -L', 'srun -p big -N 1 --gres=gpu:4 nvidia-smi -L']);
  });
});

describe('cluster.env: the variables the contract requires (GPU_CLUSTER_REQUIRED_VARS), no silent defaults', () => {
  test.each([...GPU_CLUSTER_REQUIRED_VARS])('a cluster.env without %s fails the script loudly, naming it', (name) => {
    const box = makeBox(MODEL, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
    const env = box.env.SLURM_CLUSTER_ENV;
    fs.writeFileSync(env, fs.readFileSync(env, 'utf8').replace(new RegExp(`^${name}=.*\n`, 'm'), ''));
    const r = run(box, READY);
    expect(r.status).toBe(1);
    const cluster = name === 'SLURM_CLUSTER_NAME' ? 'unknown' : 'lab';
    expect(r.stdout).toBe(`GPU-CLUSTER-FAILED cluster=${cluster} reason="${env} lacks ${name} ` +
      '(written by cdktf-openstack-gpu; see GPU_CLUSTER_REQUIRED_VARS in lib/gpu-node-contract.sh)"\n');
    expect(consoleText(box)).toBe(r.stdout);
    expect(calls(box, 'sinfo')).toEqual([]);
  });

  test('no cluster.env at all: every variable named at once; run by the node runner, the deploy gets the reason too', () => {
    const box = makeBox();
    const state = path.join(box.dir, 'state');
    const r = run(box, READY, {
      SLURM_CLUSTER_ENV: path.join(box.dir, 'missing.env'),
      ...recipeEnv({ GPU_NODE_RECIPE_NAME: 'lab-head' }), GPU_NODE_FAIL_FLAG: path.join(box.dir, 'failed'),
      GPU_NODE_CONFIG: path.join(box.dir, 'no-recipe.env'), GPU_NODE_STATE_DIR: state, GPU_NODE_LOG_DIR: path.join(box.dir, 'log'),
      GPU_NODE_CONSOLE: box.console, GPU_NODE_STEP: 'user-commands',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`missing.env lacks ${GPU_CLUSTER_REQUIRED_VARS.join(' ')} (`);
    expect(fs.readFileSync(path.join(state, 'status.json'), 'utf8')).toContain(`GPU-CLUSTER-FAILED cluster=unknown: ${path.join(box.dir, 'missing.env')} lacks SLURM_CLUSTER_NAME`);
  });
});

describe('slurm_compose_nodes', () => {
  test('inserts the slurmd -C hardware after NodeName; a worker without a report keeps the defaults', () => {
    const box = makeBox();
    const files = renderSlurmConfig(MODEL);
    fs.writeFileSync(path.join(box.dir, 'nodes.conf.in'), files.nodesConfTemplate);
    fs.mkdirSync(path.join(box.dir, 'reports'));
    fs.writeFileSync(path.join(box.dir, 'reports', 'w1.hw'),
      'NodeName=w1 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=31000\nUpTime=0-00:01:02\n');
    const r = spawnSync('bash', ['-c', `. "${LIB}"; slurm_compose_nodes "$1/nodes.conf.in" "$1/reports" "$1/nodes.conf"`, '_', box.dir],
      { env: box.env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(box.dir, 'nodes.conf'), 'utf8').split('\n').filter((l) => l.startsWith('NodeName='))).toEqual([
      'NodeName=w1 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=31000 NodeAddr=10.0.0.11 Gres=gpu:rtx_2080_ti:2 State=UNKNOWN',
      'NodeName=w2 NodeAddr=10.0.0.12 Gres=gpu:rtx_2080_ti:2 State=UNKNOWN',
    ]);
    expect(r.stderr).toContain('no hardware report from w2');
  });
});

describe('slurm-head-setup and slurm-worker-setup', () => {
  const HW = (n: string) => `NodeName=${n} CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=31000\n`;

  function headBox() {
    const box = makeBox(MODEL, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
    const root = box.env.SLURM_CLUSTER_ROOT;
    const files = renderSlurmConfig(MODEL);
    fs.mkdirSync(path.join(root, 'etc/slurm'), { recursive: true });
    const etc = (f: string, t: string) => fs.writeFileSync(path.join(root, 'etc/slurm', f), t);
    etc('slurm.conf', files.slurmConf); etc('gres.conf', files.gresConf); etc('cgroup.conf', files.cgroupConf);
    etc('nodes.conf.in', files.nodesConfTemplate);
    // The workers' reports, as slurm-worker-setup writes them into the share.
    fs.mkdirSync(path.join(root, 'srv/gpu-cluster/nodes'), { recursive: true });
    for (const n of ['w1', 'w2']) fs.writeFileSync(path.join(root, `srv/gpu-cluster/nodes/${n}.hw`), HW(n));
    return { box, root };
  }

  test('head: makes the munge key once, exports to the workers only, composes nodes.conf, starts slurmctld, then READY', () => {
    const { box, root } = headBox();
    const r = run(box, path.join(DIR, 'slurm-head-setup'), { SLURM_CLUSTER_HOSTNAME: 'head' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('GPU-CLUSTER-READY cluster=lab workers=2 gpus=4 partitions="gpu=2:2"\n');
    const key = path.join(root, 'srv/gpu-cluster/secret/munge.key');
    expect(fs.statSync(key).size).toBe(1024);
    expect(fs.statSync(path.join(root, 'srv/gpu-cluster/secret')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, 'etc/munge/munge.key')).mode & 0o777).toBe(0o400);
    expect(fs.readFileSync(path.join(root, 'etc/exports.d/gpu-cluster.exports'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '/srv/gpu-cluster 10.0.0.11(rw,sync,no_subtree_check,no_root_squash)',
      '/shared 10.0.0.11(rw,sync,no_subtree_check,root_squash)',
      '/srv/gpu-cluster 10.0.0.12(rw,sync,no_subtree_check,no_root_squash)',
      '/shared 10.0.0.12(rw,sync,no_subtree_check,root_squash)',
    ]);
    const nodes = fs.readFileSync(path.join(root, 'srv/gpu-cluster/slurm/nodes.conf'), 'utf8');
    expect(nodes).toContain('NodeName=w2 CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=31000 NodeAddr=10.0.0.12');
    expect(fs.readFileSync(path.join(root, 'srv/gpu-cluster/slurm/slurm.conf'), 'utf8')).toBe(renderSlurmConfig(MODEL).slurmConf);
    expect(fs.existsSync(path.join(root, 'srv/gpu-cluster/slurm/ready'))).toBe(true);
    expect(calls(box, 'systemctl')).toEqual([
      'systemctl restart munge', 'systemctl enable --now nfs-server', 'systemctl enable slurmctld', 'systemctl restart slurmctld',
    ]);
    expect(calls(box, 'exportfs')).toEqual(['exportfs -ra']);
    // A second boot keeps the key: the workers already have it.
    const before = fs.readFileSync(key);
    expect(run(box, path.join(DIR, 'slurm-head-setup'), { SLURM_CLUSTER_HOSTNAME: 'head' }).status).toBe(0);
    expect(fs.readFileSync(key).equals(before)).toBe(true);
  });

  test('head: a host name that slurm.conf does not name fails at once, before anything is installed', () => {
    const { box } = headBox();
    const r = run(box, path.join(DIR, 'slurm-head-setup'), { SLURM_CLUSTER_HOSTNAME: 'ubuntu' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="head host name is ubuntu, slurm.conf names head"\n');
    expect(calls(box, 'systemctl')).toEqual([]);
  });

  test('worker: mounts the head\'s shares, reports slurmd -C, takes config and key, starts slurmd as its node name', () => {
    const box = makeBox(MODEL);
    const root = box.env.SLURM_CLUSTER_ROOT;
    const share = publishHeadShare(root);
    const r = run(box, path.join(DIR, 'slurm-worker-setup'), { SLURM_NODE_NAME: 'w2' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'etc/fstab'), 'utf8')).toBe(
      '10.0.0.10:/srv/gpu-cluster /srv/gpu-cluster nfs defaults,_netdev,nofail,x-systemd.automount 0 0\n10.0.0.10:/shared /shared nfs defaults,_netdev,nofail,x-systemd.automount 0 0\n');
    expect(calls(box, 'mount')).toEqual([`mount ${root}/srv/gpu-cluster`, `mount ${root}/shared`]);
    expect(fs.readFileSync(path.join(share, 'nodes/w2.hw'), 'utf8')).toMatch(/^NodeName=\S+ CPUs=8 /);
    expect(fs.readFileSync(path.join(root, 'etc/slurm/gres.conf'), 'utf8')).toBe('gres.conf\n');
    expect(fs.statSync(path.join(root, 'etc/munge/munge.key')).mode & 0o777).toBe(0o400);
    expect(fs.readFileSync(path.join(root, 'etc/default/slurmd'), 'utf8')).toBe('SLURMD_OPTIONS="-N w2"\n');
    // slurmd does not start at later boots by itself: the gate unit starts it after the GPU check.
    expect(calls(box, 'systemctl')).toEqual(['systemctl restart munge', 'systemctl daemon-reload', 'systemctl disable slurmd',
      'systemctl enable gpu-cluster-slurmd.service', 'systemctl restart slurmd']);
    const unit = fs.readFileSync(path.join(root, 'etc/systemd/system/gpu-cluster-slurmd.service'), 'utf8');
    expect(unit).toContain('After=gpu-node.service munge.service\n');
    expect(unit).toContain(`ExecStart=${DIR}/slurm-worker-gate\n`);
    expect(unit).toContain('WantedBy=gpu-node.service\n');
    // No ordering against multi-user.target: gpu-node.service is ordered after it (a cycle otherwise).
    expect(unit).not.toMatch(/multi-user|Requires=/);
    expect(fs.readFileSync(path.join(root, 'etc/gpu-cluster/node.env'), 'utf8')).toBe('SLURM_NODE_NAME=w2\n');
  });

  test('worker: a head that never shares its configuration fails the setup after the timeout', () => {
    const box = makeBox(MODEL);
    const r = run(box, path.join(DIR, 'slurm-worker-setup'), { SLURM_NODE_NAME: 'w1', SLURM_CLUSTER_MOUNT_TIMEOUT: '1' });
    expect(r.status).toBe(1);
    expect(r.out).toContain('the head never published its configuration');
    expect(calls(box, 'systemctl')).toEqual([]);
  });
});

describe('on an existing network: addresses from the server metadata at boot', () => {
  const HW = (n: string) => `NodeName=${n} CPUs=8 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=2 RealMemory=31000\n`;
  // The model SlurmCluster renders with `network`: placeholders where the addresses go.
  const PLACEHOLDERS: SlurmClusterModel = {
    ...MODEL,
    head: { name: 'head', address: addressPlaceholder('head') },
    groups: [{ ...MODEL.groups[0], nodes: [{ name: 'w1', address: addressPlaceholder('w1') }, { name: 'w2', address: addressPlaceholder('w2') }] }],
  };
  const ADDRESSES = { head: '192.168.7.10', w1: '192.168.7.21', w2: '192.168.7.22' };
  /** cloud-init's instance-data.json of an OpenStack server: ds.meta_data.meta holds the server metadata. */
  const instanceData = (box: Box, names: string[]) => {
    const file = path.join(box.dir, 'instance-data.json');
    const meta = Object.fromEntries(names.map((n) => [`gpu_cluster_address_${n}`, (ADDRESSES as Record<string, string>)[n]]));
    fs.writeFileSync(file, JSON.stringify({ ds: { meta_data: { uuid: 'x', meta: { gpu_node_recipe_name: 'r', ...meta } } } }));
    return file;
  };
  function headBox(names: string[]) {
    const box = makeBox(PLACEHOLDERS, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
    const root = box.env.SLURM_CLUSTER_ROOT;
    const files = renderSlurmConfig(PLACEHOLDERS);
    fs.mkdirSync(path.join(root, 'etc/slurm'), { recursive: true });
    const etc = (f: string, t: string) => fs.writeFileSync(path.join(root, 'etc/slurm', f), t);
    etc('slurm.conf', files.slurmConf); etc('gres.conf', files.gresConf); etc('cgroup.conf', files.cgroupConf);
    etc('nodes.conf.in', files.nodesConfTemplate);
    fs.mkdirSync(path.join(root, 'srv/gpu-cluster/nodes'), { recursive: true });
    for (const n of ['w1', 'w2']) fs.writeFileSync(path.join(root, `srv/gpu-cluster/nodes/${n}.hw`), HW(n));
    return { box, root, env: { SLURM_CLUSTER_HOSTNAME: 'head', SLURM_CLUSTER_INSTANCE_DATA: instanceData(box, names) } };
  }

  test('head: slurm.conf, nodes.conf, exports and cluster.env get the metadata addresses; then READY', () => {
    const { box, root, env } = headBox(['head', 'w1', 'w2']);
    const r = run(box, path.join(DIR, 'slurm-head-setup'), env);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('GPU-CLUSTER-READY cluster=lab workers=2 gpus=4 partitions="gpu=2:2"\n');
    const shared = (f: string) => fs.readFileSync(path.join(root, 'srv/gpu-cluster/slurm', f), 'utf8');
    expect(shared('slurm.conf')).toContain('SlurmctldHost=head(192.168.7.10)\n');
    expect(shared('nodes.conf')).toContain('RealMemory=31000 NodeAddr=192.168.7.22 Gres=gpu:rtx_2080_ti:2');
    expect(fs.readFileSync(path.join(root, 'etc/exports.d/gpu-cluster.exports'), 'utf8')).toContain('/srv/gpu-cluster 192.168.7.21(rw,');
    expect(fs.readFileSync(box.env.SLURM_CLUSTER_ENV, 'utf8')).toContain("SLURM_CLUSTER_WORKER_ADDRESSES='192.168.7.21 192.168.7.22'");
    for (const f of ['slurm.conf', 'nodes.conf', 'gres.conf']) expect(shared(f)).not.toContain('@gpu_cluster_address_');
    // A second boot: nothing left to replace, the same files.
    const before = shared('slurm.conf');
    expect(run(box, path.join(DIR, 'slurm-head-setup'), env).status).toBe(0);
    expect(shared('slurm.conf')).toBe(before);
  });

  test('head: a node missing from the metadata fails at once, naming it', () => {
    const { box, env } = headBox(['head', 'w1']);
    const r = run(box, path.join(DIR, 'slurm-head-setup'), env);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="no address for gpu_cluster_address_w2 in the server metadata"\n');
    expect(calls(box, 'systemctl')).toEqual([]);
  });

  test('worker: mounts from the head address in its metadata (meta_data.json format too)', () => {
    const box = makeBox(PLACEHOLDERS);
    const root = box.env.SLURM_CLUSTER_ROOT;
    publishHeadShare(root);
    // The metadata service's meta_data.json: { meta: {...} } at the top.
    const metaData = path.join(box.dir, 'meta_data.json');
    fs.writeFileSync(metaData, JSON.stringify({ uuid: 'x', meta: { gpu_cluster_address_head: ADDRESSES.head, gpu_cluster_address_w1: ADDRESSES.w1, gpu_cluster_address_w2: ADDRESSES.w2 } }));
    const r = run(box, path.join(DIR, 'slurm-worker-setup'), { SLURM_NODE_NAME: 'w1', SLURM_CLUSTER_INSTANCE_DATA: metaData });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'etc/fstab'), 'utf8')).toBe(
      '192.168.7.10:/srv/gpu-cluster /srv/gpu-cluster nfs defaults,_netdev,nofail,x-systemd.automount 0 0\n192.168.7.10:/shared /shared nfs defaults,_netdev,nofail,x-systemd.automount 0 0\n');
  });
});

describe('waitForReady: the head\'s cluster verdict reaches the deploy', () => {
  const RUNNER = path.resolve(__dirname, '../../cloud-init/node/bin/gpu-node-run');
  const WATCH = path.resolve(__dirname, '../../assets/gpu-node-watch.sh');
  const FAKE_OPENSTACK = path.resolve(__dirname, '../assets/fixtures/fake-openstack.sh');
  const RECIPE = 'gpu-base-slurm-head';

  /** The head's user-commands step under the real runner (bin/gpu-node-run), then the deploy's watcher on that console. */
  function deploy(files: Record<string, string>) {
    const box = makeBox(MODEL, files);
    const node = path.join(box.dir, 'node');
    const steps = path.join(node, 'steps');
    fs.mkdirSync(steps, { recursive: true });
    // What the recipe's user-commands step runs on the head: the readiness check (the setup's last command).
    fs.writeFileSync(path.join(steps, 'user-commands.sh'), `#!/usr/bin/env bash\nset -euo pipefail\nbash ${READY}\n`);
    const nodeConsole = path.join(box.dir, 'node-console');
    fs.writeFileSync(nodeConsole, '[    0.000000] Linux version 6.8.0-generic\n');
    const runner = spawnSync('bash', [RUNNER, 'user-commands'], {
      encoding: 'utf8', timeout: 20000,
      env: {
        // Every variable the recipe writes to recipe.env (the runner refuses to run without them).
        ...recipeEnv(), ...box.env, SLURM_CLUSTER_CONSOLE: nodeConsole, SLURM_CLUSTER_NODE_LIB: path.resolve(__dirname, '../../cloud-init/node/lib/gpu-node-common.sh'),
        GPU_NODE_CONFIG: '/nonexistent', GPU_NODE_RECIPE_NAME: RECIPE, GPU_NODE_STEPS_DIR: steps,
        GPU_NODE_STATE_DIR: path.join(node, 'state'), GPU_NODE_LOG_DIR: path.join(node, 'log'), GPU_NODE_CONSOLE: nodeConsole,
      },
    });
    const fake = path.join(box.dir, 'os');
    fs.mkdirSync(path.join(fake, 'bin'), { recursive: true });
    fs.symlinkSync(FAKE_OPENSTACK, path.join(fake, 'bin', 'openstack'));
    fs.copyFileSync(nodeConsole, path.join(fake, 'console.1'));
    const watch = spawnSync('bash', [WATCH, 'ready'], {
      encoding: 'utf8', timeout: 20000,
      env: {
        PATH: `${path.join(fake, 'bin')}:/usr/bin:/bin`, HOME: fake, FAKE_OS_DIR: fake,
        WATCH_CONTRACT: path.resolve(__dirname, '../..', CONTRACT_FILE), WATCH_SERVER_ID: 'srv-head', WATCH_RECIPE_NAME: RECIPE, WATCH_NODE: 'gpu-cluster/Lab/Head', WATCH_POLL_INTERVAL: '0', WATCH_TIMEOUT: '0',
      },
    });
    return { runner, watch, console: fs.readFileSync(nodeConsole, 'utf8') };
  }

  test('a worker missing after the timeout: the deploy fails with the cluster\'s reason, naming it', () => {
    const { runner, watch, console: text } = deploy({ sinfo: 'w1 idle gpu:rtx_2080_ti:2\n' });
    expect(runner.status).toBe(1);
    const lines = text.split('\n').filter((l) => l.startsWith('GPU-'));
    expect(lines).toEqual([
      'GPU-CLUSTER-FAILED cluster=lab reason="worker w2 is not in the cluster"',
      `GPU-NODE-FAILED recipe=${RECIPE} step=user-commands reason="GPU-CLUSTER-FAILED cluster=lab: worker w2 is not in the cluster"`,
    ]);
    expect(watch.status).toBe(1);
    expect(watch.stderr).toContain(`gpu-cluster/Lab/Head reported a failure: GPU-NODE-FAILED recipe=${RECIPE} step=user-commands ` +
      'reason="GPU-CLUSTER-FAILED cluster=lab: worker w2 is not in the cluster"');
  });

  test('every worker registered: READY on the console, and the runner goes on (its ready-check prints the line the deploy waits for)', () => {
    const { runner, console: text } = deploy({ sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
    expect(runner.status).toBe(0);
    expect(text.split('\n').filter((l) => l.startsWith('GPU-'))).toEqual(['GPU-CLUSTER-READY cluster=lab workers=2 gpus=4 partitions="gpu=2:2"']);
  });
});

describe('gpu-cluster-torchrun.sh (profile.d)', () => {
  const TORCHRUN = path.join(DIR, 'gpu-cluster-torchrun.sh');
  const source = (box: Box, env: Record<string, string>) => spawnSync('bash', ['-c',
    `. "${TORCHRUN}"; echo "$MASTER_ADDR $MASTER_PORT $NNODES $NODE_RANK $NPROC_PER_NODE"`], { env: { ...box.env, ...env }, encoding: 'utf8' });
  const JOB = { SLURM_JOB_NODELIST: 'lab-w1,lab-w2', SLURM_JOB_NUM_NODES: '2', SLURM_NODEID: '1', SLURM_GPUS_ON_NODE: '2' };

  test('inside a job: the first node\'s NodeAddr as master, node count, this node\'s rank, GPUs on the node', () => {
    const box = makeBox(MODEL, { 'nodeaddr.lab-w1': '10.0.0.11\n' });
    expect(source(box, JOB).stdout).toBe('10.0.0.11 29500 2 1 2\n');
    expect(calls(box, 'scontrol')).toEqual(['scontrol show hostnames lab-w1,lab-w2', 'scontrol -o show node lab-w1']);
  });

  test('a node scontrol does not know: its name as master; MASTER_PORT kept when set', () => {
    expect(source(makeBox(), { ...JOB, MASTER_PORT: '29600' }).stdout).toBe('lab-w1 29600 2 1 2\n');
  });

  test('outside a job: sets nothing', () => {
    const r = source(makeBox(), {});
    expect(r.stdout).toBe('    \n');
  });
});

describe('power saving: slurm-resume, slurm-suspend (the head) and slurm-worker-gate (a worker)', () => {
  const RESUME = path.join(DIR, 'slurm-resume');
  const SUSPEND = path.join(DIR, 'slurm-suspend');
  const GATE = path.join(DIR, 'slurm-worker-gate');
  const POWER: SlurmClusterModel = {
    ...MODEL,
    powerSaving: {
      suspendTimeSeconds: 3600, suspendTimeoutSeconds: 5, resumeTimeoutSeconds: 5,
      programDir: '/opt/gpu-cluster/bin', cloud: 'lab-power', cloudsYaml: '/etc/gpu-cluster/clouds.yaml',
    },
  };
  const power = (file: string, hostlist: string, files: Record<string, string>) => {
    const box = makeBox(POWER, files);
    return { box, r: spawnSync('bash', [file, hostlist], { env: box.env, encoding: 'utf8', timeout: 20000 }) };
  };
  const downs = (box: Box) => calls(box, 'scontrol').filter((c) => c.startsWith('scontrol update'));
  const os = (box: Box) => calls(box, 'openstack').filter((c) => !c.includes(' server show ')).map((c) => c.replace(/ config=.*/, ''));
  // `scontrol show node w1` as Slurm 22.05 prints it (State=, Reason= with [user@time]).
  const slurmNode = (state: string, reason?: string) =>
    `NodeName=w1 Arch=x86_64 CoresPerSocket=4\n   State=${state} ThreadsPerCore=1 TmpDisk=0 Weight=1\n` +
    (reason ? `   Reason=${reason} [slurm@2026-12-07T09:00:00]\n` : '');
  // What slurmctld holds of a node whose unshelve failed: DOWN while powering up, then (ResumeTimeout) powered down.
  const FAILED_RESUME = {
    'slurm-node.w1': slurmNode('DOWN+NOT_RESPONDING+POWERING_UP', 'resume: unshelve failed'),
    'slurm-node.w1.then': slurmNode('DOWN+POWERED_DOWN+NOT_RESPONDING', 'ResumeTimeout reached'),
  };
  const updates = (box: Box) => calls(box, 'scontrol').filter((c) => c.startsWith('scontrol update')).map((c) => c.replace(/ reason=.*/, ''));

  test('resume: unshelves every worker of the hostlist with the cluster\'s credential and waits for ACTIVE; no node set down', () => {
    const { box, r } = power(RESUME, 'w1,w2', {
      'server.w1': 'SHELVED_OFFLOADED none\nSHELVED_OFFLOADED unshelving\nACTIVE spawning\nACTIVE none\n',
      'server.w2': 'SHELVED_OFFLOADED none\nACTIVE none\n',
    });
    expect(r.status).toBe(0);
    expect(os(box).sort()).toEqual(['openstack --os-cloud lab-power server unshelve w1', 'openstack --os-cloud lab-power server unshelve w2']);
    expect(calls(box, 'openstack').every((c) => c.endsWith(' config=/etc/gpu-cluster/clouds.yaml'))).toBe(true);
    expect(calls(box, 'scontrol')).toEqual(['scontrol show hostnames w1,w2']);
    expect(fs.readFileSync(box.env.SLURM_CLUSTER_LOG, 'utf8')).toContain('w1: ACTIVE; slurmd starts after the node\'s GPU check');
  });

  test('resume with no free GPU host: Nova leaves the server shelved (unshelve action "Error", no API error): the node DOWN with the reason', () => {
    const { box, r } = power(RESUME, 'w1', {
      'server.w1': 'SHELVED_OFFLOADED none\nSHELVED_OFFLOADED unshelving\nSHELVED_OFFLOADED none\n',
      'events.w1': 'req-2 unshelve\nreq-1 shelve\n', 'event.req-2': 'Error\n', ...FAILED_RESUME,
    });
    expect(r.status).toBe(0);
    expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=resume: unshelve failed (Nova: unshelve Error); ' +
      'no host with a free GPU of its flavor, the server stays shelved', 'scontrol update nodename=w1 state=resume']);
  });

  test('a failed unshelve is tried again: once slurmctld has the node DOWN and powered down (its ResumeTimeout), State=RESUME makes it idle~ for the next job', () => {
    const { box, r } = power(RESUME, 'w1', {
      'server.w1': 'SHELVED_OFFLOADED none\nSHELVED_OFFLOADED unshelving\nSHELVED_OFFLOADED none\n', ...FAILED_RESUME,
    });
    expect(r.status).toBe(0);
    // Not while it is powering up (RESUME would not make it available then), only once powered down.
    expect(updates(box)).toEqual(['scontrol update nodename=w1 state=down', 'scontrol update nodename=w1 state=resume']);
    expect(calls(box, 'scontrol').filter((c) => c.startsWith('scontrol show node')).length).toBe(2);
    expect(fs.readFileSync(box.env.SLURM_CLUSTER_LOG, 'utf8')).toContain('w1: idle and shelved again; the next job that needs it unshelves it');
  });

  test('a failed unshelve that an administrator drained meanwhile is not tried again: the drain stays', () => {
    const { box } = power(RESUME, 'w1', {
      'server.w1': 'SHELVED_OFFLOADED none\nSHELVED_OFFLOADED unshelving\nSHELVED_OFFLOADED none\n',
      'slurm-node.w1': slurmNode('DOWN+DRAIN+POWERED_DOWN+NOT_RESPONDING', 'maintenance'),
    });
    expect(updates(box)).toEqual(['scontrol update nodename=w1 state=down']);
    expect(fs.readFileSync(box.env.SLURM_CLUSTER_LOG, 'utf8')).toContain('w1: not retried, it is DOWN+DRAIN+POWERED_DOWN+NOT_RESPONDING: maintenance');
  });

  test('resume while the shelve still runs: waits for it to end, then unshelves', () => {
    const { box, r } = power(RESUME, 'w1', { 'server.w1': 'SHELVED shelving_offloading\nSHELVED_OFFLOADED none\nACTIVE none\n' });
    expect(r.status).toBe(0);
    expect(os(box)).toEqual(['openstack --os-cloud lab-power server unshelve w1']);
    expect(downs(box)).toEqual([]);
  });

  test('resume refused by the API (e.g. the credential expired): the node DOWN with the CLI\'s message', () => {
    const { box } = power(RESUME, 'w1', {
      'server.w1': 'SHELVED_OFFLOADED none\n', 'unshelve.w1.rc': '1',
      'unshelve.w1.out': 'The request you have made requires authentication. (HTTP 401)\n', ...FAILED_RESUME,
    });
    expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=resume: unshelve refused: The request you have made requires authentication. (HTTP 401)',
      'scontrol update nodename=w1 state=resume']);
  });

  test('resume of a server that never leaves unshelving: DOWN after the resume timeout, naming the last state', () => {
    const { box } = power(RESUME, 'w1', { 'server.w1': 'SHELVED_OFFLOADED none\nSHELVED_OFFLOADED unshelving\n' });
    expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=resume: unshelve of w1 not done after 5s (last SHELVED_OFFLOADED/unshelving)']);
  });

  test('resume of a server that is already ACTIVE: nothing to do', () => {
    const { box } = power(RESUME, 'w1', { 'server.w1': 'ACTIVE none\n' });
    expect(os(box)).toEqual([]);
    expect(downs(box)).toEqual([]);
  });

  test('suspend: shelves each idle worker and waits for SHELVED_OFFLOADED; one already shelved is left alone', () => {
    const { box, r } = power(SUSPEND, 'w1,w2', {
      'server.w1': 'ACTIVE none\nSHELVED shelving\nSHELVED_OFFLOADED shelving_offloading\nSHELVED_OFFLOADED none\n',
      'server.w2': 'SHELVED_OFFLOADED none\n',
    });
    expect(r.status).toBe(0);
    expect(os(box)).toEqual(['openstack --os-cloud lab-power server shelve w1']);
    expect(downs(box)).toEqual([]);
    expect(fs.readFileSync(box.env.SLURM_CLUSTER_LOG, 'utf8')).toContain('w1: SHELVED_OFFLOADED');
  });

  test('suspend of a worker an administrator drained: shelved, and left drained (no scontrol update): drained~ until they resume it', () => {
    const { box, r } = power(SUSPEND, 'w1', {
      'server.w1': 'ACTIVE none\nSHELVED_OFFLOADED none\n', 'slurm-node.w1': slurmNode('IDLE+DRAIN+POWERING_DOWN', 'maintenance'),
    });
    expect(r.status).toBe(0);
    expect(os(box)).toEqual(['openstack --os-cloud lab-power server shelve w1']);
    expect(updates(box)).toEqual([]);
  });

  test.each([
    ['drained by our health check', slurmNode('IDLE+DRAIN+POWERING_DOWN', 'gpu-node health: expected 2 GPUs, nvidia-smi lists 1')],
    ['DOWN (not responding)', slurmNode('DOWN+POWERING_DOWN', 'Not responding')],
  ])('suspend of a worker %s: once shelved, State=RESUME (idle~: its next boot checks it again)', (_what, node) => {
    const { box } = power(SUSPEND, 'w1', { 'server.w1': 'ACTIVE none\nSHELVED_OFFLOADED none\n', 'slurm-node.w1': node });
    expect(os(box)).toEqual(['openstack --os-cloud lab-power server shelve w1']);
    expect(updates(box)).toEqual(['scontrol update nodename=w1 state=resume']);
  });

  test('suspend of a DOWN worker the cloud had shelved already (its weekly shelve): State=RESUME, no shelve', () => {
    const { box } = power(SUSPEND, 'w1', { 'server.w1': 'SHELVED_OFFLOADED none\n', 'slurm-node.w1': slurmNode('DOWN+POWERING_DOWN', 'Not responding') });
    expect(os(box)).toEqual([]);
    expect(updates(box)).toEqual(['scontrol update nodename=w1 state=resume']);
  });

  test('suspend: a health drain that an administrator replaced during the shelve stays; a FAIL stays; a failed shelve is not resumed', () => {
    const swapped = power(SUSPEND, 'w1', {
      'server.w1': 'ACTIVE none\nSHELVED_OFFLOADED none\n',
      'slurm-node.w1': slurmNode('IDLE+DRAIN+POWERING_DOWN', 'gpu-node health: Xid 79'),
      'slurm-node.w1.then': slurmNode('IDLE+DRAIN+POWERING_DOWN', 'maintenance'),
    });
    expect(updates(swapped.box)).toEqual([]);
    const failed = power(SUSPEND, 'w1', { 'server.w1': 'ACTIVE none\nSHELVED_OFFLOADED none\n', 'slurm-node.w1': slurmNode('IDLE+FAIL+POWERING_DOWN', 'bad board') });
    expect(updates(failed.box)).toEqual([]);
    const refused = power(SUSPEND, 'w1', {
      'server.w1': 'ACTIVE none\n', 'shelve.w1.rc': '1', 'shelve.w1.out': 'HTTP 409\n', 'slurm-node.w1': slurmNode('DOWN+POWERING_DOWN', 'Not responding'),
    });
    expect(updates(refused.box)).toEqual(['scontrol update nodename=w1 state=down']);
  });

  test('suspend refused (409 of a server in a task): the node DOWN with the reason, so sinfo -R shows it', () => {
    const { box } = power(SUSPEND, 'w1', {
      'server.w1': 'ACTIVE none\n', 'shelve.w1.rc': '1',
      'shelve.w1.out': "Cannot 'shelve' instance w1 while it is in task_state rebooting (HTTP 409)\n",
    });
    expect(downs(box)).toEqual(["scontrol update nodename=w1 state=down reason=suspend: shelve refused: Cannot 'shelve' instance w1 while it is in task_state rebooting (HTTP 409)"]);
  });

  test('suspend of a server the credential cannot see: DOWN naming the server', () => {
    const { box } = power(SUSPEND, 'w1', {});
    expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=suspend: cannot read server w1: No Server found for w1']);
  });

  describe('slurm-worker-gate: slurmd rejoins only after this boot\'s GPU check', () => {
    const gate = (status: object | undefined) => {
      const box = makeBox(POWER);
      const state = path.join(box.dir, 'state');
      fs.mkdirSync(state);
      if (status) fs.writeFileSync(path.join(state, 'status.json'), JSON.stringify(status));
      fs.writeFileSync(path.join(box.dir, 'node.env'), 'SLURM_NODE_NAME=w1\n');
      const r = spawnSync('bash', [GATE], {
        env: { ...box.env, GPU_NODE_STATE_DIR: state, GPU_NODE_BOOT_ID: 'boot-2', SLURM_CLUSTER_NODE_ENV: path.join(box.dir, 'node.env') },
        encoding: 'utf8', timeout: 20000,
      });
      return { box, r };
    };

    test('ready on this boot: slurmd starts, the node is not touched', () => {
      const { box, r } = gate({ state: 'ready', gpus: 2, boot_id: 'boot-2' });
      expect(r.status).toBe(0);
      expect(calls(box, 'systemctl')).toEqual(['systemctl start slurmd']);
      expect(downs(box)).toEqual([]);
    });

    test('the GPU check failed: slurmd stays stopped, the node DOWN with the check\'s reason, a console line', () => {
      const { box, r } = gate({ state: 'failed', step: 'ready-check', reason: 'expected 2 GPUs, nvidia-smi lists 1', boot_id: 'boot-2' });
      expect(r.status).toBe(1);
      expect(calls(box, 'systemctl')).toEqual([]);
      expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=GPU check failed on w1: expected 2 GPUs, nvidia-smi lists 1']);
      expect(consoleText(box)).toBe('gpu-cluster: w1 stays out of Slurm: GPU check failed on w1: expected 2 GPUs, nvidia-smi lists 1\n');
    });

    test('a ready verdict of an earlier boot (this boot\'s check never ran to its end): DOWN, no slurmd', () => {
      const { box } = gate({ state: 'ready', gpus: 2, boot_id: 'boot-1' });
      expect(calls(box, 'systemctl')).toEqual([]);
      expect(downs(box)).toEqual(['scontrol update nodename=w1 state=down reason=GPU check failed on w1: the last GPU check is from an earlier boot']);
    });

    test('no status.json at all: DOWN, no slurmd', () => {
      const { box } = gate(undefined);
      expect(calls(box, 'systemctl')).toEqual([]);
      expect(downs(box)[0]).toMatch(/^scontrol update nodename=w1 state=down reason=GPU check failed on w1: no readable status.json/);
    });
  });

  describe('slurm-head-setup with power saving: clouds.yaml from the server metadata', () => {
    function headPowerBox(meta: Record<string, string>) {
      const box = makeBox(POWER, { sinfo: ALL_IDLE, 'srun.out': GPU_LINES + GPU_LINES });
      const root = box.env.SLURM_CLUSTER_ROOT;
      const files = renderSlurmConfig(POWER);
      fs.mkdirSync(path.join(root, 'etc/slurm'), { recursive: true });
      const etc = (f: string, t: string) => fs.writeFileSync(path.join(root, 'etc/slurm', f), t);
      etc('slurm.conf', files.slurmConf); etc('gres.conf', files.gresConf); etc('cgroup.conf', files.cgroupConf);
      etc('nodes.conf.in', files.nodesConfTemplate);
      fs.mkdirSync(path.join(root, 'srv/gpu-cluster/nodes'), { recursive: true });
      for (const n of ['w1', 'w2']) fs.writeFileSync(path.join(root, `srv/gpu-cluster/nodes/${n}.hw`), `NodeName=${n} CPUs=8 RealMemory=31000\n`);
      const data = path.join(box.dir, 'instance-data.json');
      fs.writeFileSync(data, JSON.stringify({ ds: { meta_data: { meta } } }));
      return { box, root, env: { SLURM_CLUSTER_HOSTNAME: 'head', SLURM_CLUSTER_INSTANCE_DATA: data } };
    }
    const META = {
      gpu_cluster_os_auth_url: 'https://keystone.example:5000/v3', gpu_cluster_os_region: 'RegionOne',
      gpu_cluster_os_credential_id: 'ac-123', gpu_cluster_os_credential_secret: 's3cr"et',
    };

    test('writes a clouds.yaml readable by its owner only, with the application credential; then READY', () => {
      const { box, root, env } = headPowerBox(META);
      const r = run(box, path.join(DIR, 'slurm-head-setup'), env);
      expect(r.status).toBe(0);
      const file = path.join(root, 'etc/gpu-cluster/clouds.yaml');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8').split('\n').slice(1)).toEqual([
        'clouds:', '  lab-power:', '    auth_type: v3applicationcredential', '    auth:',
        '      auth_url: "https://keystone.example:5000/v3"', '      application_credential_id: "ac-123"',
        '      application_credential_secret: "s3cr\\"et"', '    region_name: "RegionOne"', '',
      ]);
      expect(calls(box, 'chown')).toContain(`chown slurm:slurm ${file}.tmp`);
    });

    test('no credential in the metadata: GPU-CLUSTER-FAILED naming the missing keys, slurmctld not started', () => {
      const { box, env } = headPowerBox({ gpu_cluster_os_auth_url: META.gpu_cluster_os_auth_url });
      const r = run(box, path.join(DIR, 'slurm-head-setup'), env);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('GPU-CLUSTER-FAILED cluster=lab reason="power saving: no gpu_cluster_os_credential_id, gpu_cluster_os_credential_secret in the server metadata"\n');
      expect(calls(box, 'systemctl')).not.toContain('systemctl restart slurmctld');
    });
  });
});

describe('slurm-health-check (HealthCheckProgram: slurmd runs it as root on each worker)', () => {
  const HEALTH_CHECK = path.join(DIR, 'slurm-health-check');
  // The node's stand-ins: nvidia-smi lists $FAKE_DIR/gpus, dmesg prints $FAKE_DIR/dmesg. The Slurm ones come
  // first: their scontrol prints $FAKE_DIR/slurm-node.<name>.
  const NODE_FAKEBIN = path.join(__dirname, 'fixtures', 'fakebin');
  const GPU = 'NVIDIA GeForce RTX 2080 Ti, 580.95.05';
  const IDLE = 'NodeName=w1 Arch=x86_64 CoresPerSocket=4\n   State=IDLE ThreadsPerCore=1 TmpDisk=0 Weight=1\n';
  const drained = (state: string, reason: string) =>
    `NodeName=w1 Arch=x86_64 CoresPerSocket=4\n   State=${state} ThreadsPerCore=1 TmpDisk=0 Weight=1\n   Reason=${reason} [root@2026-12-07T09:00:00]\n`;
  const OUR_DRAIN = drained('IDLE+DRAIN', 'gpu-node health: expected 2 GPUs, nvidia-smi lists 1');

  /** A worker that passed this boot's GPU check (status.json: ready, boot-1) with 2 GPUs; Slurm sees `slurmNode`. */
  function worker(slurmNode: string, gpus: number, verdict: object = { state: 'ready', gpus: 2, boot_id: 'boot-1' }) {
    const box = makeBox(MODEL, { 'slurm-node.w1': slurmNode, gpus: `${GPU}\n`.repeat(gpus) });
    const state = path.join(box.dir, 'state');
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, 'status.json'), JSON.stringify({ recipe: 'lab-worker', key: 'k', ...verdict }));
    const env = {
      ...box.env, ...recipeEnv({ GPU_NODE_RECIPE_NAME: 'lab-worker', GPU_NODE_EXPECTED_GPUS: '2' }),
      PATH: `${FAKEBIN}:${NODE_FAKEBIN}:/usr/bin:/bin`,
      GPU_NODE_CONFIG: path.join(box.dir, 'no-recipe.env'), GPU_NODE_STATE_DIR: state, GPU_NODE_LOG_DIR: path.join(box.dir, 'log'),
      GPU_NODE_CONSOLE: box.console, GPU_NODE_BOOT_ID: 'boot-1', GPU_NODE_SLURMD_DEFAULTS: path.join(box.dir, 'no-slurmd'),
      // What slurmd gives its HealthCheckProgram.
      SLURMD_NODENAME: 'w1',
    };
    const check = (extra: Record<string, string> = {}) => {
      const r = spawnSync('bash', [HEALTH_CHECK], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 20000 });
      expect(r.status).toBe(0);
      return r;
    };
    const status = () => JSON.parse(fs.readFileSync(path.join(state, 'status.json'), 'utf8'));
    const setNode = (text: string) => fs.writeFileSync(path.join(box.fake, 'slurm-node.w1'), text);
    const setGpus = (n: number) => fs.writeFileSync(path.join(box.fake, 'gpus'), `${GPU}\n`.repeat(n));
    return { box, check, status, setNode, setGpus, updates: () => calls(box, 'scontrol').filter((c) => c.startsWith('scontrol update')) };
  }

  test('a healthy node stays: no scontrol update, status.json ready with this check\'s time', () => {
    const w = worker(IDLE, 2);
    w.check();
    expect(calls(w.box, 'nvidia-smi')).toHaveLength(1);
    expect(w.updates()).toEqual([]);
    expect(w.status()).toMatchObject({ state: 'ready', gpus: 2, boot_id: 'boot-1', checked_at: expect.stringMatching(/Z$/) });
  });

  test('a GPU lost: the node drained with the check\'s reason, once; status.json failed with the same reason', () => {
    const w = worker(IDLE, 1);
    w.check();
    expect(w.updates()).toEqual(['scontrol update NodeName=w1 State=DRAIN Reason=gpu-node health: expected 2 GPUs, nvidia-smi lists 1']);
    expect(w.status()).toMatchObject({ state: 'failed', step: 'health', reason: 'expected 2 GPUs, nvidia-smi lists 1' });
    w.setNode(OUR_DRAIN);
    w.check(); // still failing, already drained: no second update
    expect(w.updates()).toHaveLength(1);
  });

  test('the GPU back: our drain is resumed', () => {
    const w = worker(OUR_DRAIN, 2, { state: 'failed', step: 'health', reason: 'expected 2 GPUs, nvidia-smi lists 1', gpus: 1, boot_id: 'boot-1' });
    w.check();
    expect(w.updates()).toEqual(['scontrol update NodeName=w1 State=RESUME']);
    expect(w.status()).toMatchObject({ state: 'ready', gpus: 2 });
  });

  test('an administrator\'s drain stays, whether the GPUs pass or fail', () => {
    const w = worker(drained('IDLE+DRAIN', 'maintenance'), 2);
    w.check();
    w.setGpus(1);
    w.check();
    expect(w.updates()).toEqual([]);
    expect(w.status()).toMatchObject({ state: 'failed', reason: 'expected 2 GPUs, nvidia-smi lists 1' });
  });

  test('a node DOWN for another reason (power saving, the worker gate, an admin) is never touched', () => {
    const w = worker(drained('DOWN', 'resume: unshelve failed (Nova: unshelve Error)'), 1);
    w.check();
    w.setGpus(2);
    w.check();
    // Nor a DOWN+DRAIN whose reason is ours: DOWN was set by someone else after our drain.
    w.setNode(drained('DOWN+DRAIN', 'gpu-node health: expected 2 GPUs, nvidia-smi lists 1'));
    w.check();
    expect(w.updates()).toEqual([]);
  });

  test('this boot\'s first check has not run (the recipe still installing): nothing checked, nothing touched', () => {
    const w = worker(IDLE, 1, { state: 'running', steps: 'x', boot_id: 'boot-1' });
    w.check();
    expect(calls(w.box, 'nvidia-smi')).toEqual([]);
    expect(w.updates()).toEqual([]);
    expect(w.status().state).toBe('running');
  });

  test('nvidia-smi hangs (a GPU fell off the bus): the check is ended in time and the node drained with that reason', () => {
    const w = worker(IDLE, 2);
    const hung = path.join(w.box.dir, 'hung');
    fs.mkdirSync(hung);
    fs.writeFileSync(path.join(hung, 'nvidia-smi'), '#!/bin/sh\nexec sleep 60\n');
    fs.chmodSync(path.join(hung, 'nvidia-smi'), 0o755);
    w.check({ PATH: `${hung}:${FAKEBIN}:${NODE_FAKEBIN}:/usr/bin:/bin`, SLURM_CLUSTER_HEALTH_TIMEOUT: '1' });
    expect(w.updates()).toEqual(['scontrol update NodeName=w1 State=DRAIN Reason=gpu-node health: the GPU check did not finish within 1s (nvidia-smi hung? a GPU lost?)']);
    // The next check passes: that drain is ours too, and is resumed.
    w.setNode(drained('IDLE+DRAIN', 'gpu-node health: the GPU check did not finish within 1s (nvidia-smi hung? a GPU lost?)'));
    w.check();
    expect(w.updates().pop()).toBe('scontrol update NodeName=w1 State=RESUME');
  });

  test('never fails slurmd: exit 0 when scontrol cannot reach slurmctld or the check cannot run', () => {
    const w = worker(IDLE, 1);
    fs.writeFileSync(path.join(w.box.fake, 'scontrol-update.rc'), '1');
    w.check();
    expect(fs.readFileSync(path.join(w.box.dir, 'log', 'recipe.log'), 'utf8')).toContain('Slurm node w1: scontrol could not drain it (expected 2 GPUs, nvidia-smi lists 1)');
    fs.rmSync(path.join(w.box.fake, 'slurm-node.w1'));
    w.check();
    // The node's check missing: logged, exit 0.
    fs.mkdirSync(path.join(w.box.dir, 'lib'));
    for (const f of ['gpu-node-contract.sh', 'gpu-node-vars.sh', 'gpu-node-openstack.sh']) fs.copyFileSync(path.resolve(__dirname, '../../cloud-init/node/lib', f), path.join(w.box.dir, 'lib', f));
    const r = w.check({ SLURM_CLUSTER_NODE_LIB: path.join(w.box.dir, 'lib', 'gpu-node-common.sh') });
    expect(r.stderr).toMatch(/gpu-node-health exited 127/);
    // Its library and the node contract missing: said on stderr, exit 0 still.
    expect(w.check({ SLURM_CLUSTER_NODE_LIB: path.join(w.box.dir, 'nowhere', 'gpu-node-common.sh') }).stderr)
      .toMatch(/slurm-health-check: no node contract next to SLURM_CLUSTER_NODE_LIB=.*nowhere/);
    // A cluster.env that lacks a variable: the console says which, exit 0 still.
    fs.writeFileSync(path.join(w.box.dir, 'short.env'), fs.readFileSync(w.box.env.SLURM_CLUSTER_ENV, 'utf8').replace(/^SLURM_CLUSTER_WORKERS=.*\n/m, ''));
    w.check({ SLURM_CLUSTER_ENV: path.join(w.box.dir, 'short.env') });
    expect(consoleText(w.box)).toMatch(/^GPU-CLUSTER-FAILED cluster=lab reason=".*short\.env lacks SLURM_CLUSTER_WORKERS \(written by cdktf-openstack-gpu; see GPU_CLUSTER_REQUIRED_VARS in lib\/gpu-node-contract\.sh\)"$/m);
  });

  test('one check at a time: while another run holds the lock (the timer\'s), this one waits, then skips and touches nothing', () => {
    const w = worker(IDLE, 1);
    const lock = path.join(w.box.dir, 'state', 'health.lock');
    // -o: flock itself holds the lock (not its sleep), so killing it frees the lock.
    const holder = spawn('flock', ['-o', lock, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      // Until the holder has the lock.
      while (spawnSync('flock', ['-n', lock, 'true']).status === 0) spawnSync('sleep', ['0.1']);
      w.check({ SLURM_CLUSTER_HEALTH_LOCK_WAIT: '1' });
      expect(calls(w.box, 'nvidia-smi')).toEqual([]);
      expect(w.updates()).toEqual([]);
      expect(fs.readFileSync(path.join(w.box.dir, 'log', 'recipe.log'), 'utf8')).toContain('another health check has held the lock for over 1s; this one skipped');
    } finally {
      process.kill(-holder.pid!, 'SIGKILL'); // flock and its sleep (their own process group)
    }
    // The lock free again: the check runs and drains.
    spawnSync('flock', [lock, 'true'], { timeout: 10000 });
    w.check();
    expect(w.updates()).toHaveLength(1);
  });

  test('without SLURMD_NODENAME (run by hand): the node name slurm-worker-setup wrote in node.env', () => {
    const w = worker(IDLE, 1);
    const nodeEnv = path.join(w.box.dir, 'node.env');
    fs.writeFileSync(nodeEnv, 'SLURM_NODE_NAME=w1\n');
    w.check({ SLURMD_NODENAME: '', SLURM_CLUSTER_NODE_ENV: nodeEnv });
    expect(w.updates()).toEqual(['scontrol update NodeName=w1 State=DRAIN Reason=gpu-node health: expected 2 GPUs, nvidia-smi lists 1']);
  });
});
