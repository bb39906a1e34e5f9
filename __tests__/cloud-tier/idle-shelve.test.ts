// GpuNode idleShelve on the mini-cloud (real provider v3.4.0, real Keystone access rules, real Nova with the
// fake hypervisor): the node's own steps/idle-shelve.sh turns the server's real metadata into clouds.yaml,
// and bin/gpu-node-idle shelves the real server with the node's own credential. The fake hypervisor runs
// no guest, so the programs run here with stand-in nvidia-smi and ss (idle GPUs, no SSH connection) and
// the real openstack CLI. Then an unchanged deploy brings the node back, as the README promises.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer } from '../../src';
import { nodeContract } from '../../src/core/node-contract';
import { recipeEnv } from '../support/node-env';
import { CLOUDS_YAML, Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;
const CLOUD_INIT = path.resolve(__dirname, '../../cloud-init/node');
const FAKEBIN = path.resolve(__dirname, '../cloud-init/fixtures/fakebin');
const T0 = 1_800_000_000;

function tierAuthUrl(): string {
  const m = /auth_url:\s*['"]?([^'",}\s]+)/.exec(fs.readFileSync(CLOUDS_YAML, 'utf8'));
  if (!m) throw new Error(`no auth_url in ${CLOUDS_YAML}`);
  return m[1];
}

/** Polls Nova until the server has `status` (the shelve is asynchronous), up to `seconds`. */
function waitForStatus(name: string, status: string, seconds: number): string {
  const until = Date.now() + seconds * 1000;
  let now = inspect(t, 'server', name).status;
  while (now !== status && Date.now() < until) {
    spawnSync('sleep', ['2']);
    now = inspect(t, 'server', name).status;
  }
  return now;
}

describe('GpuNode idleShelve on the mini-cloud (the node shelves itself with its own credential)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'idle-shelve');
  const nodeName = `tieri-${Date.now().toString(36)}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'idle-shelve-'));
  const p = (...s: string[]) => path.join(work, ...s);
  let serverId = '';
  let env: Record<string, string> = {};

  afterAll(() => {
    if (t.skipped) return;
    const r = d.destroy();
    if (r.status !== 0) console.log(r.output.slice(-3000));
    fs.rmSync(work, { recursive: true, force: true });
  });

  cloudTest('deploys a node whose metadata carries its credential (the secret only in state and in Nova)', () => {
    d.synth((app: App) => {
      const stack = new TerraformStack(app, 'cloud-idle-shelve');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      new GpuNode(stack, 'Node', {
        nodeName, network, flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), idleShelve: { authUrl: tierAuthUrl(), afterHours: 1 },
      });
      return stack;
    });
    expect(fs.readFileSync(path.join(d.dir, 'cdk.tf.json'), 'utf8')).not.toMatch(/"secret"\s*:/);
    d.applyOk();
    const cred = d.one('openstack_identity_application_credential_v3');
    expect(cred.access_rules.map((r: any) => `${r.method} ${r.path}`).sort()).toEqual(['GET /v2.1/servers/*', 'POST /v2.1/servers/*/action']);
    const server = inspect(t, 'server', nodeName);
    serverId = server.id;
    const prefix = nodeContract().idleMetadataPrefix;
    expect(server.metadata[`${prefix}credential_id`]).toBe(cred.id);
    expect(server.metadata[`${prefix}credential_secret`]).toBe(cred.secret);

    // The node as cloud-init leaves it: its instance id, cloud-init's instance data with Nova's metadata.
    for (const dir of ['root/var/lib/cloud/data', 'root/run/cloud-init', 'state', 'logs', 'fake', 'bin', 'tmp', 'etc']) fs.mkdirSync(p(dir), { recursive: true });
    // The stand-ins, except openstack: the real CLI talks to the tier.
    for (const f of fs.readdirSync(FAKEBIN).filter((f) => f !== 'openstack')) fs.symlinkSync(path.join(FAKEBIN, f), p('bin', f));
    fs.writeFileSync(p('root/var/lib/cloud/data/instance-id'), `${serverId}\n`);
    fs.writeFileSync(p('root/run/cloud-init/instance-data.json'), JSON.stringify({ ds: { meta_data: { meta: server.metadata } } }));
    fs.writeFileSync(p('fake', 'calls.log'), '');
    fs.writeFileSync(p('fake', 'gpus'), 'NVIDIA GeForce RTX 2080 Ti, 580.95.05\n');
    fs.writeFileSync(p('console'), '');
    fs.writeFileSync(p('state', 'status.json'), '{"state":"ready","recipe":"rtx","key":"k-1","gpus":1,"boot_id":"boot-1","time":"2027-01-15T08:00:00Z"}\n');
    env = {
      ...recipeEnv({ GPU_NODE_RECIPE_NAME: 'rtx', GPU_NODE_EXPECTED_GPUS: '1', GPU_NODE_IDLE_SHELVE_HOURS: '1' }),
      PATH: `${p('bin')}:${process.env.PATH}`, HOME: work, TMPDIR: p('tmp'), FAKE_DIR: p('fake'),
      GPU_NODE_CONFIG: p('no-recipe.env'), GPU_NODE_ROOT: p('root'), GPU_NODE_STATE_DIR: p('state'), GPU_NODE_LOG_DIR: p('logs'),
      GPU_NODE_CONSOLE: p('console'), GPU_NODE_BOOT_ID: 'boot-1', GPU_NODE_OS_CONFIG: p('etc', 'clouds.yaml'),
      GPU_NODE_APT_RETRY_SLEEP: '0', GPU_NODE_APT_LOCK_SLEEP: '0', GPU_NODE_NET_RETRY_SLEEP: '0',
    };
  });

  cloudTest('steps/idle-shelve.sh writes a 0600 clouds.yaml from the real metadata, and the credential can read its server', () => {
    const r = spawnSync('bash', [path.join(CLOUD_INIT, 'steps', 'idle-shelve.sh')], { env, encoding: 'utf8', timeout: 180000 });
    if (r.status !== 0) console.log(r.stdout + r.stderr);
    expect(r.status).toBe(0);
    expect(fs.statSync(p('etc', 'clouds.yaml')).mode & 0o777).toBe(0o600);
    const log = fs.readFileSync(p('logs', 'recipe.log'), 'utf8');
    expect(log).toContain(`the credential can read server ${serverId} (status ACTIVE)`);
    expect(fs.readFileSync(p('fake', 'calls.log'), 'utf8')).toMatch(/systemctl enable --now --no-block gpu-node-idle.timer/);
  });

  cloudTest('Keystone refuses the node\'s credential anything outside its rules (a network list)', () => {
    const r = spawnSync('openstack', ['--os-cloud', 'gpu-node-idle', 'network', 'list'], {
      env: { ...env, OS_CLIENT_CONFIG_FILE: p('etc', 'clouds.yaml') }, encoding: 'utf8', timeout: 120000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/(HTTP |HttpException: )401\b/);
  });

  cloudTest('bin/gpu-node-idle shelves the real server after afterHours of idle samples (time printed)', () => {
    const tick = (now: number) => spawnSync('bash', [path.join(CLOUD_INIT, 'bin', 'gpu-node-idle')], {
      env: { ...env, GPU_NODE_NOW: `${now}` }, encoding: 'utf8', timeout: 180000,
    });
    expect(tick(T0).status).toBe(0);
    expect(inspect(t, 'server', nodeName).status).toBe('ACTIVE');
    const t0 = Date.now();
    const r = tick(T0 + 3601);
    if (r.status !== 0) console.log(r.stdout + r.stderr);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(p('console'), 'utf8')).toMatch(new RegExp(`^${nodeContract().markIdleShelve} recipe=rtx server=${serverId} reason="idle since `, 'm'));
    expect(JSON.parse(fs.readFileSync(p('state', 'status.json'), 'utf8'))).not.toHaveProperty('idle_shelve_error');
    expect(waitForStatus(nodeName, 'SHELVED_OFFLOADED', 300)).toBe('SHELVED_OFFLOADED');
    console.log(`gpu-node-idle to SHELVED_OFFLOADED: ${(Date.now() - t0) / 1000} s`);
  });

  cloudTest('an unchanged deploy (PowerState.RUNNING) brings the self-shelved node back with the same id, and then plans nothing', () => {
    const t0 = Date.now();
    d.applyOk();
    const server = inspect(t, 'server', nodeName);
    expect(server.status).toBe('ACTIVE');
    expect(server.id).toBe(serverId);
    console.log(`deploy to ACTIVE: ${(Date.now() - t0) / 1000} s`);
    expect(d.plan().changes.filter((c) => !c.actions.every((a) => a === 'no-op' || a === 'read'))).toEqual([]);
  });
});
