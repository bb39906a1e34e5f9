// A SlurmCluster with powerSaving on the mini-cloud (real provider v3.4.0, real Keystone and Nova with the
// fake hypervisor): the application credential the stack creates, restricted by real access rules, and
// the head's programs (cloud-init/slurm/slurm-suspend, slurm-resume) run here with it against the
// cluster's real servers. slurmctld is not on the fake servers: `scontrol` is the stand-in of
// __tests__/cloud-init/fixtures/slurm-fakebin, which records the node state changes.
// Prints the measured times: shelve to SHELVED_OFFLOADED, unshelve to ACTIVE.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, openstack, Peer, SlurmCluster } from '../../src';
import { renderSlurmConfig } from '../../src/slurm/slurm-config';
import { CLOUDS_YAML, Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;
const ROOT = path.resolve(__dirname, '../..');
const FAKEBIN = path.join(ROOT, '__tests__', 'cloud-init', 'fixtures', 'slurm-fakebin');
const FILLERS = 'slurm-power-filler';

/** Keystone's URL of the tier's clouds.yaml (`auth_url:` of the openstack cloud). */
function tierAuthUrl(): string {
  const m = /auth_url:\s*['"]?([^'",}\s]+)/.exec(fs.readFileSync(CLOUDS_YAML, 'utf8'));
  if (!m) throw new Error(`no auth_url in ${CLOUDS_YAML}`);
  return m[1];
}

describe('SlurmCluster powerSaving on the mini-cloud (real Keystone access rules, real shelve/unshelve)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'slurm-power');
  const clusterName = `tierp-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'slurm-power-'));
  const worker = `${clusterName}-gpu-1`;
  let env: NodeJS.ProcessEnv = {};

  afterAll(() => {
    if (t.skipped) return;
    inspect(t, 'free-gpus', FILLERS);
    const r = d.destroy();
    if (r.status !== 0) console.log(r.output.slice(-3000));
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** A program of cloud-init/slurm with the cluster's credential, as slurmctld runs it on the head. */
  const program = (name: string, hostlist: string) => spawnSync('bash', [path.join(ROOT, 'cloud-init', 'slurm', name), hostlist], {
    encoding: 'utf8', timeout: 1_500_000, env,
  });
  const downs = () => fs.readFileSync(path.join(work, 'calls.log'), 'utf8').split('\n').filter((l) => l.startsWith('scontrol update'));

  cloudTest('deploys with an application credential whose secret is in the state only; the head carries it in its metadata', () => {
    d.synth((app: App) => {
      const stack = new TerraformStack(app, 'cloud-slurm-power');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      new SlurmCluster(stack, 'Cluster', {
        clusterName, sshFrom: [Peer.ipv4('10.0.0.0/8')],
        workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), count: 1 }],
        powerSaving: { authUrl: tierAuthUrl(), suspendAfterMinutes: 5 },
      });
      return stack;
    });
    expect(fs.readFileSync(path.join(d.dir, 'cdk.tf.json'), 'utf8')).not.toMatch(/"secret"\s*:/);
    d.applyOk();
    const cred = d.one('openstack_identity_application_credential_v3');
    expect(cred.secret).toMatch(/^\S{20,}$/);
    expect(cred.access_rules.map((r: any) => `${r.method} ${r.path}`)).toContain('POST /v2.1/servers/*/action');
    const head = inspect(t, 'server', `${clusterName}-head`);
    expect(head.metadata.gpu_cluster_os_credential_id).toBe(cred.id);
    // What slurm-head-setup writes from that metadata, and the cluster.env the programs read.
    fs.writeFileSync(path.join(work, 'clouds.yaml'), ['clouds:', '  gpu-cluster:', '    auth_type: v3applicationcredential', '    auth:',
      `      auth_url: ${JSON.stringify(tierAuthUrl())}`, `      application_credential_id: ${JSON.stringify(cred.id)}`,
      `      application_credential_secret: ${JSON.stringify(cred.secret)}`, ''].join('\n'), { mode: 0o600 });
    fs.writeFileSync(path.join(work, 'calls.log'), '');
    const model = {
      clusterName: 'tier', head: { name: `${clusterName}-head`, address: '10.0.0.1' }, slurmVersion: '22.05',
      groups: [{ partition: 'gpu', gpuType: 'rtx_2080_ti', gpusPerNode: 1, nodes: [{ name: worker, address: '10.0.0.2' }] }],
      powerSaving: { suspendTimeSeconds: 300, suspendTimeoutSeconds: 600, resumeTimeoutSeconds: 1200, programDir: '/x', cloud: 'gpu-cluster', cloudsYaml: path.join(work, 'clouds.yaml') },
    };
    fs.writeFileSync(path.join(work, 'cluster.env'), renderSlurmConfig(model).clusterEnv);
    fs.mkdirSync(path.join(work, 'bin'));
    fs.symlinkSync(path.join(FAKEBIN, 'scontrol'), path.join(work, 'bin', 'scontrol'));
    env = {
      // The stand-in scontrol first; the tier's openstack CLI from this machine's PATH.
      PATH: `${path.join(work, 'bin')}:${process.env.PATH}`, HOME: work, FAKE_DIR: work, SLURM_CLUSTER_ENV: path.join(work, 'cluster.env'),
      SLURM_CLUSTER_LOG: path.join(work, 'power.log'), SLURM_CLUSTER_POLL: '3',
      SLURM_CLUSTER_NODE_LIB: path.join(ROOT, 'cloud-init', 'node', 'lib', 'gpu-node-common.sh'),
    };
  });

  cloudTest('Keystone refuses the credential anything outside its access rules (a network list)', () => {
    const r = spawnSync('openstack', ['--os-cloud', 'gpu-cluster', 'network', 'list'], {
      encoding: 'utf8', env: { ...env, OS_CLIENT_CONFIG_FILE: path.join(work, 'clouds.yaml') }, timeout: 120_000,
    });
    expect(r.status).not.toBe(0);
    // Neutron's keystonemiddleware answers 401 (validate_allowed_request: no rule for the network service).
    expect(r.stderr).toMatch(/(HTTP |HttpException: )40[13]\b|not authorized|Unauthorized|Forbidden/i);
  });

  cloudTest('slurm-suspend shelves the worker to SHELVED_OFFLOADED with the credential (time printed)', () => {
    const t0 = Date.now();
    const r = program('slurm-suspend', worker);
    expect(r.status).toBe(0);
    expect(downs()).toEqual([]);
    expect(inspect(t, 'server', worker).status).toBe('SHELVED_OFFLOADED');
    console.log(`slurm-suspend to SHELVED_OFFLOADED: ${(Date.now() - t0) / 1000} s`);
  });

  cloudTest('slurm-resume unshelves it to ACTIVE (time printed)', () => {
    const t0 = Date.now();
    const r = program('slurm-resume', worker);
    expect(r.status).toBe(0);
    expect(downs()).toEqual([]);
    expect(inspect(t, 'server', worker).status).toBe('ACTIVE');
    console.log(`slurm-resume to ACTIVE: ${(Date.now() - t0) / 1000} s`);
  });

  cloudTest('with every GPU taken, slurm-resume sets the node DOWN with Nova\'s reason, the server stays shelved, and at slurmctld\'s ResumeTimeout mark it is idle and shelved again', () => {
    expect(program('slurm-suspend', worker).status).toBe(0);
    const filled = inspect(t, 'fill-gpus', `g1-1x2080.medium|${FILLERS}`);
    expect(filled.fillers.length).toBeGreaterThan(0);
    // slurmctld as the stand-in scontrol plays it (real-slurm.test.ts shows the real one): the node DOWN with our
    // reason while the resume runs, then marked down and powered down at ResumeTimeout; slurm-resume waits for that
    // mark to make the node idle and shelved again, so that a later job tries the unshelve again.
    const reason = 'resume: unshelve failed (Nova: unshelve Error); no host with a free GPU of its flavor, the server stays shelved';
    fs.writeFileSync(path.join(work, `slurm-node.${worker}`), `   State=DOWN+POWERING_UP ThreadsPerCore=1\n   Reason=${reason} [slurm@2026-12-07T10:00:00]\n`);
    fs.writeFileSync(path.join(work, `slurm-node.${worker}.then`), '   State=DOWN+POWERED_DOWN ThreadsPerCore=1\n   Reason=ResumeTimeout reached [slurm@2026-12-07T10:20:00]\n');
    expect(program('slurm-resume', worker).status).toBe(0);
    expect(downs()).toEqual([`scontrol update nodename=${worker} state=down reason=${reason}`, `scontrol update nodename=${worker} state=resume`]);
    expect(inspect(t, 'server', worker).status).toBe('SHELVED_OFFLOADED');
  });
});
