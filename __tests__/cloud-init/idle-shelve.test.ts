// GpuNode idleShelve on the node (issue 24): bin/gpu-node-idle decides from stand-in nvidia-smi and ss
// whether the node is idle, keeps the idle-since time on disk and shelves its own server with a stand-in
// openstack; steps/idle-shelve.sh installs the CLI, writes the credential's clouds.yaml and the timer.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nodeContract } from '../../src/core/node-contract';
import { recipeEnv } from '../support/node-env';
import { testUnless, toolGap } from '../support/skip';

const CLOUD_INIT = path.resolve(__dirname, '../../cloud-init/node');
const FAKEBIN = path.join(__dirname, 'fixtures', 'fakebin');
const IDLE = path.join(CLOUD_INIT, 'bin', 'gpu-node-idle');
const STEP = path.join(CLOUD_INIT, 'steps', 'idle-shelve.sh');
const SERVER = '8d1c2f3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const GPU = 'NVIDIA GeForce RTX 2080 Ti, 580.95.05';
const H = 3600;
const T0 = 1_800_000_000; // the first sample's time
const SSHD = '0 0 10.42.0.5:22 192.0.2.7:53122 users:(("sshd",pid=2211,fd=4),("sshd",pid=2150,fd=4))';
const MARK = nodeContract().markIdleShelve;
const PREFIX = nodeContract().idleMetadataPrefix;

let tmpRoot: string;
beforeAll(() => { tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-node-idle-')); });
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

interface Node { dir: string; state: string; fake: string; console: string; root: string; env: Record<string, string> }
let counter = 0;

/** A node with 2 idle GPUs, a ready status.json of boot-1 and its instance id, stand-ins first on PATH. */
function makeNode(env: Record<string, string> = {}): Node {
  const dir = path.join(tmpRoot, `n${++counter}`);
  const p = (...s: string[]) => path.join(dir, ...s);
  for (const d of ['root/var/lib/cloud/data', 'root/run/cloud-init', 'state', 'logs', 'fake', 'bin', 'tmp']) fs.mkdirSync(p(d), { recursive: true });
  for (const f of fs.readdirSync(FAKEBIN)) fs.symlinkSync(path.join(FAKEBIN, f), p('bin', f));
  fs.writeFileSync(p('console'), '');
  fs.writeFileSync(p('fake', 'calls.log'), '');
  fs.writeFileSync(p('fake', 'gpus'), `${GPU}\n${GPU}\n`);
  fs.writeFileSync(p('root/var/lib/cloud/data/instance-id'), `${SERVER}\n`);
  fs.writeFileSync(p('state', 'status.json'), '{"state":"ready","recipe":"rtx","key":"k-1","gpus":2,"boot_id":"boot-1","time":"2027-01-15T08:00:00Z"}\n');
  return {
    dir, state: p('state'), fake: p('fake'), console: p('console'), root: p('root'),
    env: {
      ...recipeEnv({ GPU_NODE_RECIPE_NAME: 'rtx', GPU_NODE_RECIPE_KEY: 'k-1', GPU_NODE_EXPECTED_GPUS: '2', GPU_NODE_IDLE_SHELVE_HOURS: '2' }),
      PATH: `${p('bin')}:/usr/bin:/bin`, HOME: dir, TMPDIR: p('tmp'), FAKE_DIR: p('fake'),
      GPU_NODE_CONFIG: p('no-recipe.env'), GPU_NODE_ROOT: p('root'), GPU_NODE_STATE_DIR: p('state'),
      GPU_NODE_LOG_DIR: p('logs'), GPU_NODE_CONSOLE: p('console'), GPU_NODE_BOOT_ID: 'boot-1',
      GPU_NODE_APT_RETRY_SLEEP: '0', GPU_NODE_APT_LOCK_SLEEP: '0', GPU_NODE_NET_RETRY_SLEEP: '0',
      ...env,
    },
  };
}

function run(node: Node, file: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', [file], { env: { ...node.env, ...env }, encoding: 'utf8', timeout: 15000 });
  return { status: r.status, out: r.stdout + r.stderr };
}
/** One tick of the timer at `now`. */
const tick = (node: Node, now: number, env: Record<string, string> = {}) => run(node, IDLE, { GPU_NODE_NOW: `${now}`, ...env });
const calls = (node: Node, cmd: string) => fs.readFileSync(path.join(node.fake, 'calls.log'), 'utf8').split('\n').filter((c) => c.startsWith(`${cmd} `));
const shelves = (node: Node) => calls(node, 'openstack').filter((c) => c.includes(' server shelve '));
const consoleLines = (node: Node) => fs.readFileSync(node.console, 'utf8').split('\n').filter(Boolean);
const status = (node: Node) => JSON.parse(fs.readFileSync(path.join(node.state, 'status.json'), 'utf8'));
const since = (node: Node) => fs.existsSync(path.join(node.state, 'idle-since')) ? fs.readFileSync(path.join(node.state, 'idle-since'), 'utf8').trim() : undefined;
const log = (node: Node) => fs.readFileSync(path.join(node.dir, 'logs', 'recipe.log'), 'utf8');

describe('bin/gpu-node-idle: what counts as idle', () => {
  test('idle GPUs: the first sample starts the count and never shelves; the count is kept on disk', () => {
    const node = makeNode();
    expect(tick(node, T0).status).toBe(0);
    expect(since(node)).toBe(`boot-1 ${T0}`);
    expect(shelves(node)).toEqual([]);
    expect(log(node)).toMatch(/\[idle-shelve\] idle \(no GPU process, GPUs at most 5%, no SSH connection\); shelving after 2h/);
    // A later idle sample keeps the first time.
    expect(tick(node, T0 + H).status).toBe(0);
    expect(since(node)).toBe(`boot-1 ${T0}`);
    expect(shelves(node)).toEqual([]);
    expect(consoleLines(node)).toEqual([]);
  });

  test.each<[string, (node: Node) => void, RegExp]>([
    ['a busy GPU', (n) => fs.writeFileSync(path.join(n.fake, 'utilization'), '0\n87\n'), /busy again: GPU 1 at 87% utilization/],
    ['a compute process on an idle GPU', (n) => fs.writeFileSync(path.join(n.fake, 'compute-apps'), '4242\n'), /busy again: GPU compute processes running \(pid 4242\)/],
    ['an SSH session', (n) => fs.writeFileSync(path.join(n.fake, 'ss-established'), `${SSHD}\n`), /busy again: 1 SSH connection\(s\) open/],
    ['a failing nvidia-smi', (n) => fs.rmSync(path.join(n.fake, 'gpus')), /busy again: nvidia-smi failed: NVIDIA-SMI has failed/],
    ['a GPU without a utilization reading', (n) => fs.writeFileSync(path.join(n.fake, 'utilization'), '0\n[N/A]\n'), /busy again: GPU 1 reports no utilization/],
    ['a failing ss', (n) => fs.writeFileSync(path.join(n.fake, 'ss-fails'), ''), /busy again: ss failed: Cannot open netlink socket/],
    ['a failed GPU check', (n) => fs.writeFileSync(path.join(n.state, 'status.json'), '{"state":"failed","boot_id":"boot-1"}\n'),
      /busy again: the GPU check of this boot has not passed \(status 'failed'\)/],
  ])('%s is not idle: it resets the count, and a node busy past afterHours is not shelved', (_what, makeBusy, logged) => {
    const node = makeNode();
    tick(node, T0);
    expect(since(node)).toBe(`boot-1 ${T0}`);
    makeBusy(node);
    expect(tick(node, T0 + 3 * H).status).toBe(0);
    expect(since(node)).toBeUndefined();
    expect(log(node)).toMatch(logged);
    expect(tick(node, T0 + 5 * H).status).toBe(0);
    expect(shelves(node)).toEqual([]);
    expect(consoleLines(node)).toEqual([]);
  });

  test('an outgoing ssh from the node and other TCP connections are no SSH session', () => {
    const node = makeNode();
    fs.writeFileSync(path.join(node.fake, 'ss-established'), [
      '0 0 10.42.0.5:41822 140.82.112.3:22 users:(("ssh",pid=3001,fd=3))',
      '0 0 10.42.0.5:8888 192.0.2.7:50100 users:(("jupyter-lab",pid=3100,fd=12))',
    ].join('\n') + '\n');
    tick(node, T0);
    tick(node, T0 + 2 * H);
    expect(shelves(node)).toHaveLength(1);
  });

  test('a reboot starts the count anew: the record of another boot counts as none', () => {
    const node = makeNode();
    tick(node, T0);
    fs.writeFileSync(path.join(node.state, 'status.json'), '{"state":"ready","boot_id":"boot-2"}\n');
    tick(node, T0 + 3 * H, { GPU_NODE_BOOT_ID: 'boot-2' });
    expect(since(node)).toBe(`boot-2 ${T0 + 3 * H}`);
    expect(shelves(node)).toEqual([]);
  });

  test('a status.json of an earlier boot is not idle (this boot\'s check has not run yet)', () => {
    const node = makeNode({ GPU_NODE_BOOT_ID: 'boot-2' });
    tick(node, T0);
    expect(since(node)).toBeUndefined();
  });

  test('off (GPU_NODE_IDLE_SHELVE_HOURS 0): nothing is sampled', () => {
    const node = makeNode({ GPU_NODE_IDLE_SHELVE_HOURS: '0' });
    tick(node, T0);
    expect(calls(node, 'nvidia-smi')).toEqual([]);
    expect(since(node)).toBeUndefined();
  });
});

describe('bin/gpu-node-idle: the shelve', () => {
  test('idle but not yet long enough: no shelve', () => {
    const node = makeNode();
    tick(node, T0);
    tick(node, T0 + 2 * H - 1);
    expect(shelves(node)).toEqual([]);
    expect(consoleLines(node)).toEqual([]);
  });

  test('idle for afterHours: the console line and status.json say why, then the node shelves its own server with its credential', () => {
    const node = makeNode();
    tick(node, T0);
    expect(tick(node, T0 + 2 * H + 5 * 60).status).toBe(0);
    const config = path.join(node.root, 'etc/gpu-node/clouds.yaml');
    expect(shelves(node)).toEqual([`openstack --os-cloud gpu-node-idle server shelve ${SERVER} config=${config}`]);
    const why = 'idle since 2027-01-15T08:00:00Z (2h5m): no GPU compute process, every GPU at most 5% busy, no SSH connection; idleShelve.afterHours is 2';
    expect(consoleLines(node)).toEqual([
      `${MARK} recipe=rtx server=${SERVER} reason="${why}" bring_back="cdktf deploy with PowerState.RUNNING"`]);
    // The verdict stays; the reason is added.
    expect(status(node)).toMatchObject({ state: 'ready', gpus: 2, boot_id: 'boot-1', idle_shelve: why, idle_shelve_at: expect.stringMatching(/Z$/) });
    expect(status(node).idle_shelve_error).toBeUndefined();
    expect(log(node)).toContain(`shelve of server ${SERVER} requested`);
  });

  test('a failed shelve is logged and tried again at the next tick, not fatal', () => {
    const node = makeNode({ FAKE_OPENSTACK_FAILS: '1' });
    tick(node, T0);
    const first = tick(node, T0 + 2 * H);
    expect(first.status).toBe(0);
    expect(shelves(node)).toHaveLength(1);
    expect(log(node)).toContain(`shelve of server ${SERVER} failed: The request you have made requires authentication. (HTTP 401)`);
    expect(status(node)).toMatchObject({ state: 'ready', idle_shelve_error: expect.stringContaining('(HTTP 401)') });
    expect(since(node)).toBe(`boot-1 ${T0}`);
    expect(tick(node, T0 + 2 * H + 300).status).toBe(0);
    expect(shelves(node)).toHaveLength(2);
    expect(log(node)).toContain(`shelve of server ${SERVER} requested`);
    // The later success clears the earlier error; one reason in the file, not one per tick.
    expect(status(node).idle_shelve_error).toBeUndefined();
    expect(fs.readFileSync(path.join(node.state, 'status.json'), 'utf8').match(/"idle_shelve"/g)).toHaveLength(1);
    expect(consoleLines(node)).toHaveLength(2);
  });

  test('without a server id from cloud-init it does not shelve', () => {
    const node = makeNode();
    fs.writeFileSync(path.join(node.root, 'var/lib/cloud/data/instance-id'), 'iid-datasource-none\n');
    tick(node, T0);
    expect(tick(node, T0 + 3 * H).status).toBe(0);
    expect(shelves(node)).toEqual([]);
    expect(log(node)).toContain("instance id 'iid-datasource-none' is no server id; not shelving");
  });
});

describe('steps/idle-shelve.sh', () => {
  const metadata = {
    [`${PREFIX}auth_url`]: 'https://keystone.example:5000/v3', [`${PREFIX}region`]: 'RegionOne',
    [`${PREFIX}credential_id`]: 'ac-1', [`${PREFIX}credential_secret`]: 's3cr"et', other: 'x',
  };
  function withMetadata(node: Node, meta: Record<string, string>) {
    fs.writeFileSync(path.join(node.root, 'run/cloud-init/instance-data.json'), JSON.stringify({ ds: { meta_data: { meta, uuid: SERVER } } }));
  }

  test('installs the OpenStack CLI, writes a root-only clouds.yaml from the metadata and enables the timer', () => {
    const node = makeNode();
    // Not installed yet: no stand-in, and a PATH with the tools the step needs but no system openstack.
    fs.unlinkSync(path.join(node.dir, 'bin', 'openstack'));
    const sys = path.join(node.dir, 'sysbin');
    fs.mkdirSync(sys);
    for (const t of ['bash', 'python3', 'cat', 'sed', 'grep', 'awk', 'tee', 'mkdir', 'mv', 'rm', 'mktemp', 'chmod', 'date', 'dirname', 'basename', 'head', 'cut', 'tr', 'df']) {
      const found = ['/usr/bin', '/bin'].map((d) => path.join(d, t)).find((f) => fs.existsSync(f));
      if (found) fs.symlinkSync(found, path.join(sys, t));
    }
    withMetadata(node, metadata);
    const r = run(node, STEP, { PATH: `${path.join(node.dir, 'bin')}:${sys}` });
    expect(r.out).toMatch(/gpu-node-idle.timer enabled: shelves server 8d1c2f3e-.* after 2h idle/);
    expect(r.status).toBe(0);
    expect(calls(node, 'apt-get').map((c) => c.replace(/ -o \S+/g, ''))).toEqual(['apt-get update', 'apt-get install -y python3-openstackclient']);
    const file = path.join(node.root, 'etc/gpu-node/clouds.yaml');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toContain([
      'clouds:', '  gpu-node-idle:', '    auth_type: v3applicationcredential', '    auth:',
      '      auth_url: "https://keystone.example:5000/v3"', '      application_credential_id: "ac-1"',
      '      application_credential_secret: "s3cr\\"et"', '    region_name: "RegionOne"'].join('\n'));
    expect(calls(node, 'systemctl')).toEqual(['systemctl daemon-reload', 'systemctl enable --now --no-block gpu-node-idle.timer']);
  });

  test('a credential missing from the metadata fails the node, naming the key', () => {
    const node = makeNode();
    const { [`${PREFIX}credential_secret`]: _secret, ...rest } = metadata;
    withMetadata(node, rest);
    const r = run(node, STEP, { GPU_NODE_STEP: 'idle-shelve' });
    expect(r.status).toBe(1);
    expect(consoleLines(node)).toEqual([
      `GPU-NODE-FAILED recipe=rtx step=idle-shelve reason="idle shelve: no ${PREFIX}credential_secret in the server metadata"`]);
    expect(calls(node, 'systemctl')).toEqual([]);
  });

  test('a credential the cloud refuses is a warning in the log, and the timer is still enabled', () => {
    const node = makeNode({ FAKE_OPENSTACK_FAILS: 'always' });
    withMetadata(node, metadata);
    const r = run(node, STEP);
    expect(r.status).toBe(0);
    expect(r.out).toContain(`WARNING: the idle-shelve credential cannot read server ${SERVER}: The request you have made requires authentication. (HTTP 401)`);
    expect(calls(node, 'systemctl')).toContain('systemctl enable --now --no-block gpu-node-idle.timer');
  });
});

describe('systemd/gpu-node-idle.{service,timer}', () => {
  test('every 5 minutes, after this boot\'s recipe run and health check', () => {
    const timer = fs.readFileSync(path.join(CLOUD_INIT, 'systemd', 'gpu-node-idle.timer'), 'utf8');
    expect(timer).toMatch(/^OnBootSec=5min$/m);
    expect(timer).toMatch(/^OnUnitInactiveSec=5min$/m);
    const service = fs.readFileSync(path.join(CLOUD_INIT, 'systemd', 'gpu-node-idle.service'), 'utf8');
    expect(service).toMatch(/^After=gpu-node\.service gpu-node-health\.service$/m);
    expect(service).toContain('\nExecStart=/opt/gpu-node/bin/gpu-node-idle\n');
  });

  testUnless(toolGap('systemd-analyze', 'apt-get install systemd'), 'systemd-analyze verify passes on both units', () => {
    const timer = fs.readFileSync(path.join(CLOUD_INIT, 'systemd', 'gpu-node-idle.timer'), 'utf8');
    const service = fs.readFileSync(path.join(CLOUD_INIT, 'systemd', 'gpu-node-idle.service'), 'utf8');
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'idle-units-'));
    fs.writeFileSync(path.join(dir, 'gpu-node-idle.service'), service.replace('/opt/gpu-node/bin/gpu-node-idle', IDLE));
    fs.writeFileSync(path.join(dir, 'gpu-node-idle.timer'), timer);
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'gpu-node-idle.timer'), path.join(dir, 'gpu-node-idle.service')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
