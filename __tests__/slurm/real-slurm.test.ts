// Against real Slurm 22.05 daemons (Debian bookworm's slurmctld, slurmd, munge, slurm-client):
// munged, slurmctld and slurmd on 127.0.0.1 with the configuration renderSlurmConfig() generated.
// Swapped for the sandbox, and only these: node names and addresses (the head is this host's name,
// everything on 127.0.0.1), ports, spool/log/pid paths and the munge socket (under a temp dir),
// SlurmUser=root, proctrack/linuxproc and task/none (no cgroups in a container), and GPU device
// files that are links to /dev/null and /dev/zero in the temp dir. The addresses are rendered as the
// placeholders of a cluster on an existing network and put in at "boot" from stand-in server metadata
// (slurm_resolve_addresses), so the daemons run on the resolved files. Needs root; skips with the reason where it cannot run.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { addressPlaceholder, renderSlurmConfig, SlurmClusterModel } from '../../src/private/slurm-config';

const HELPER = path.join(__dirname, 'real-slurm.sh');
const NEEDED = ['munged', 'slurmctld', 'slurmd', 'srun', 'sinfo'];

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (slurmd needs root)';
  const missing = NEEDED.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (missing.length) return `missing ${missing.join(', ')} (apt-get install slurmctld slurmd munge slurm-client)`;
  return undefined;
}

const skip = whyNot();
const it = skip ? test.skip : test;
if (skip) {
  if (process.env.CI) throw new Error(`real-Slurm test cannot run in CI: ${skip}`);
  console.warn(`skipping real-Slurm test: ${skip}`);
}

describe('real Slurm 22.05 daemons', () => {
  let dir: string;
  let result: Record<string, string> = {};
  let ms = 0;
  let literal: ReturnType<typeof renderSlurmConfig>;

  beforeAll(() => {
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-slurm-'));
    for (const d of ['etc', 'munge', 'log', 'state', 'spool', 'dev', 'fakebin']) fs.mkdirSync(path.join(dir, d));
    fs.chmodSync(path.join(dir, 'munge'), 0o700);
    // Slurm wants character devices in File=: links to /dev/null and /dev/zero stand in for two GPUs.
    fs.symlinkSync('/dev/null', path.join(dir, 'dev', 'nvidia0'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'dev', 'nvidia1'));
    const port = 20000 + (process.pid % 20000);
    const head = spawnSync('hostname', ['-s'], { encoding: 'utf8' }).stdout.trim();
    const model = (headAddress: string, workerAddress: string): SlurmClusterModel => ({
      clusterName: 'sandbox',
      head: { name: head, address: headAddress },
      groups: [{ partition: 'gpu', gpuType: 'rtx_2080_ti', gpusPerNode: 2, nodes: [{ name: 'worker-1', address: workerAddress }] }],
      slurmVersion: '22.05',
      readyTimeoutSeconds: 20,
      site: {
        confDir: path.join(dir, 'etc'),
        stateSaveLocation: path.join(dir, 'state'),
        slurmdSpoolDir: path.join(dir, 'spool'),
        logDir: path.join(dir, 'log'),
        pidDir: path.join(dir, 'log'),
        slurmctldPort: port,
        slurmdPort: port + 1,
        mungeSocket: path.join(dir, 'munge', 'munge.socket'),
        slurmUser: 'root',
        proctrackType: 'proctrack/linuxproc',
        taskPlugin: 'task/none',
        gpuDevicePrefix: path.join(dir, 'dev', 'nvidia'),
      },
    });
    const files = renderSlurmConfig(model(addressPlaceholder(head), addressPlaceholder('worker-1')));
    literal = renderSlurmConfig(model('127.0.0.1', '127.0.0.1'));
    const instanceData = path.join(dir, 'instance-data.json');
    fs.writeFileSync(instanceData, JSON.stringify({ ds: { meta_data: { meta: { [`gpu_cluster_address_${head}`]: '127.0.0.1', 'gpu_cluster_address_worker-1': '127.0.0.1' } } } }));
    const etc = (f: string, text: string) => fs.writeFileSync(path.join(dir, 'etc', f), text);
    etc('slurm.conf', files.slurmConf);
    etc('nodes.conf.in', files.nodesConfTemplate);
    etc('gres.conf', files.gresConf);
    etc('cgroup.conf', files.cgroupConf);
    etc('cluster.env', files.clusterEnv);
    // nvidia-smi stand-in for the readiness script's test job: lists the GPUs Slurm gave the job.
    const smi = path.join(dir, 'fakebin', 'nvidia-smi');
    fs.writeFileSync(smi, '#!/bin/sh\nfor i in $(echo "$CUDA_VISIBLE_DEVICES" | tr , " "); do echo "GPU $i: stand-in"; done\n');
    fs.chmodSync(smi, 0o755);
    const t0 = Date.now();
    const r = spawnSync('bash', [HELPER, dir, 'worker-1'], {
      encoding: 'utf8', timeout: 90_000, env: { ...process.env, SLURM_CLUSTER_INSTANCE_DATA: instanceData },
    });
    ms = Date.now() - t0;
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) result[line.slice(0, i)] = line.slice(i + 1);
    }
    if (r.status !== 0) {
      const logs = ['slurmctld.log', 'slurmd.log', 'ready.err'].map((f) => {
        const p = path.join(dir, 'log', f);
        return fs.existsSync(p) ? `--- ${f}\n${fs.readFileSync(p, 'utf8').slice(-3000)}` : '';
      });
      throw new Error(`real-slurm.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}\n${logs.join('\n')}`);
    }
    console.log(`real Slurm run: ${ms} ms`);
  }, 120_000);

  afterAll(() => {
    if (dir && !process.env.KEEP) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the files the daemons ran on: the placeholders resolved give exactly the files rendered with the addresses', () => {
    expect(fs.readFileSync(path.join(dir, 'etc', 'slurm.conf'), 'utf8')).toBe(literal.slurmConf);
    expect(fs.readFileSync(path.join(dir, 'etc', 'nodes.conf.in'), 'utf8')).toBe(literal.nodesConfTemplate);
    expect(fs.readFileSync(path.join(dir, 'etc', 'cluster.env'), 'utf8')).toBe(literal.clusterEnv);
  });

  it('nodes.conf has the hardware slurmd -C reported', () => {
    expect(result.NODES_CONF).toMatch(/^NodeName=worker-1 CPUs=\d+ .*RealMemory=\d+ NodeAddr=127\.0\.0\.1 Gres=gpu:rtx_2080_ti:2 State=UNKNOWN$/);
  });

  it('sinfo shows the worker idle with gpu:rtx_2080_ti:2', () => {
    expect(result.SINFO).toMatch(/^idle gpu:rtx_2080_ti:2(\(S:[0-9-]+\))?$/);
  });

  it('srun --gres=gpu:2 gets CUDA_VISIBLE_DEVICES=0,1', () => {
    expect(result.CUDA).toBe('0,1');
  });

  it('the torchrun environment inside a job: the first node\'s NodeAddr, 1 node, rank 0, the job\'s 2 GPUs', () => {
    expect(result.TORCHRUN).toBe('127.0.0.1 29500 1 0 2');
  });

  it('a job asking for more GPUs than the node has is refused', () => {
    expect(result.TOO_MANY_RC).not.toBe('0');
    expect(result.TOO_MANY).toMatch(/Requested node configuration is not available/);
  });

  it('the head readiness script prints GPU-CLUSTER-READY against the real daemons', () => {
    expect(result.READY_RC).toBe('0');
    expect(result.READY).toBe('GPU-CLUSTER-READY cluster=sandbox workers=1 gpus=2 partitions="gpu=1:2"');
  });

  it('the node\'s health check drains the worker when a GPU is lost and resumes it when both are back; an admin\'s drain stays', () => {
    expect(result.HEALTH_LOST).toBe('drain|gpu-node health: expected 2 GPUs, nvidia-smi lists 1');
    expect(result.HEALTH_BACK).toBe('idle|none');
    expect(result.HEALTH_ADMIN).toBe('drain|maintenance');
    expect(JSON.parse(result.HEALTH_STATUS)).toMatchObject({ state: 'ready', gpus: 2, boot_id: 'sim-boot' });
  });
});
