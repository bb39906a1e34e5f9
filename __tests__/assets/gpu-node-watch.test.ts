import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { CONTRACT_FILE, nodeContract } from '../../src/core/node-contract';
import { testUnless, toolGap } from '../support/skip';

// Drives assets/gpu-node-watch.sh (bake and ready modes) against a stand-in `openstack` CLI
// (fixtures/fake-openstack.sh) whose behaviour comes from files in a temp dir
// and which records every call, so the whole bake flow runs in milliseconds.

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'assets', 'gpu-node-watch.sh');
const FAKE_CLI = path.join(__dirname, 'fixtures', 'fake-openstack.sh');

const SERVER = 'srv-0b7e4c1a';
const KEY = 'k3y4bc9f';
const RECIPE = 'l4-cuda';
const IMAGE_NAME = 'gpu-node-l4-cuda-k3y4bc9f';
const CREATED_IMAGE_ID = '11111111-2222-3333-4444-555555555555';
// The markers from the node contract, the file the scripts and the watcher read.
const CONTRACT = path.join(ROOT, CONTRACT_FILE);
const MARK = nodeContract();
const READY = `[  812.345678] cloud-init[1234]: ${MARK.markReady} recipe=${RECIPE} key=${KEY} gpus=1 driver=570-open`;
const SEALING = `[  812.400000] cloud-init[1234]: ${MARK.markSealing} recipe=${RECIPE}`;
const SEALED = `[  840.100000] bash[2345]: ${MARK.markSealed} recipe=${RECIPE} key=${KEY}`;
const BOOTING = ['[    0.000000] Linux version 6.8.0-generic', '[    5.100000] cloud-init[812]: running modules:final'];

function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}
const BASH = findOnPath('bash') ?? '/bin/bash';

interface Scenario {
  /** console.N contents: element i is served on the (i+1)-th `console log show --lines` call. */
  console?: string[][];
  /** Whole console log (calls without --lines). */
  consoleFull?: string[];
  /** `server show` status per call; the last one repeats. */
  status?: string[];
  statusAfterStop?: string[];
  statusAfterPause?: string[];
  statusAfterUnpause?: string[];
  existingImages?: string;
  authFail?: boolean;
  imageStatus?: string;
  /** Overrides of the script's environment; undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** PATH holds no `openstack` at all. */
  withoutCli?: boolean;
  /** The script's mode. */
  mode?: 'bake' | 'ready' | 'power';
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every openstack call, as its argument list without the leading `--os-cloud <cloud>`. */
  calls: string[][];
  /** Cloud names passed with --os-cloud, one per call. */
  clouds: string[];
}

let tmpRoot: string;
beforeAll(() => {
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-node-watch-test-'));
});
afterAll(() => {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

function run(s: Scenario = {}): Result {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'case-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  if (!s.withoutCli) fs.symlinkSync(FAKE_CLI, path.join(bin, 'openstack'));
  const write = (name: string, lines: string[]) => fs.writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  (s.console ?? [[...BOOTING, READY, SEALING, SEALED]]).forEach((lines, i) => write(`console.${i + 1}`, lines));
  if (s.consoleFull) write('console_full', s.consoleFull);
  write('status', s.status ?? ['SHUTOFF']);
  if (s.statusAfterStop) write('status_after_stop', s.statusAfterStop);
  if (s.statusAfterPause) write('status_after_pause', s.statusAfterPause);
  if (s.statusAfterUnpause) write('status_after_unpause', s.statusAfterUnpause);
  if (s.existingImages) write('existing_images', [s.existingImages]);
  if (s.authFail) write('auth_fail', []);
  if (s.imageStatus) write('image_status', [s.imageStatus]);

  const env: Record<string, string> = {
    // Only the fake CLI's dir first, then the system tools; nothing from the
    // developer's shell (a real OS_CLOUD or clouds.yaml must not leak in).
    PATH: s.withoutCli ? bin : `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    FAKE_OS_DIR: dir,
    WATCH_CONTRACT: CONTRACT,
  };
  const vars: Record<string, string | undefined> = s.mode === 'power' ? {
    WATCH_SERVER_ID: SERVER,
    WATCH_NODE: 'workers/Node',
    WATCH_POLL_INTERVAL: '0',
    POWER_TIMEOUT: '5',
    ...s.env,
  } : s.mode === 'ready' ? {
    WATCH_SERVER_ID: SERVER,
    WATCH_RECIPE_NAME: RECIPE,
    WATCH_NODE: 'workers/Node',
    WATCH_POLL_INTERVAL: '0',
    WATCH_TIMEOUT: '0',
    WATCH_SHUTOFF_GRACE: '0',
    ...s.env,
  } : {
    BAKE_SERVER_ID: SERVER,
    BAKE_IMAGE_NAME: IMAGE_NAME,
    BAKE_RECIPE_KEY: KEY,
    BAKE_RECIPE_NAME: RECIPE,
    BAKE_POLL_INTERVAL: '0',
    BAKE_TIMEOUT: '0',
    BAKE_SHUTOFF_TIMEOUT: '0',
    BAKE_SEAL_POLL_INTERVAL: '0',
    ...s.env,
  };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;

  const r = spawnSync(BASH, [SCRIPT, s.mode ?? 'bake'], { env, encoding: 'utf8', timeout: 30000 });
  const log = path.join(dir, 'calls.log');
  const raw = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : [];
  const split = raw.map((l) => l.split('\t'));
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    calls: split.map((a) => (a[0] === '--os-cloud' ? a.slice(2) : a)),
    clouds: split.map((a) => (a[0] === '--os-cloud' ? a[1] : '<none>')),
  };
}

/** Calls whose arguments start with the given words, e.g. calls(r, 'server', 'delete'). */
function callsOf(r: Result, ...prefix: string[]): string[][] {
  return r.calls.filter((c) => prefix.every((w, i) => c[i] === w));
}

/** Values given to a repeated option (`--property a --property b` → [a, b]). */
function optionValues(args: string[], option: string): string[] {
  return args.flatMap((a, i) => (a === option && i + 1 < args.length ? [args[i + 1]] : []));
}

describe('gpu-node-watch.sh bake: happy path', () => {
  const properties = ['gpu_node_base_image=ubuntu-24.04 (2025-01)', 'gpu_node_driver=570-open', `gpu_node_recipe_key=${KEY}`];
  let r: Result;
  beforeAll(() => {
    r = run({
      env: {
        BAKE_PROPERTIES: properties.join('\n') + '\n',
        BAKE_TAGS: 'gpu-node, cuda-12\nl4',
      },
    });
  });

  test('exits 0 and prints the final line', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`bake: image ${CREATED_IMAGE_ID} ${IMAGE_NAME} ready for recipe key ${KEY}`);
    // Progress lines carry the elapsed time.
    expect(r.stdout).toMatch(/^bake: \[\dm\d\ds\] node ready: .*GPU-NODE-READY/m);
  });

  test('authenticates, snapshots the builder with the requested name and waits', () => {
    expect(callsOf(r, 'token', 'issue')).toEqual([['token', 'issue', '-f', 'value', '-c', 'id']]);
    expect(callsOf(r, 'server', 'image', 'create')).toEqual([
      ['server', 'image', 'create', '--name', IMAGE_NAME, '--wait', '-f', 'value', '-c', 'id', SERVER],
    ]);
    expect(callsOf(r, 'console', 'log', 'show')[0]).toEqual(['console', 'log', 'show', '--lines', '200', SERVER]);
  });

  test('labels the image with every property, each tag and the visibility', () => {
    const sets = callsOf(r, 'image', 'set');
    expect(sets).toHaveLength(1);
    const args = sets[0];
    expect(args[args.length - 1]).toBe(CREATED_IMAGE_ID); // the id parsed out of the --wait progress output
    const props = optionValues(args, '--property');
    expect(props).toEqual(
      expect.arrayContaining([
        'gpu_node_base_image=ubuntu-24.04 (2025-01)',
        'gpu_node_driver=570-open',
        `gpu_node_recipe_key=${KEY}`,
        `gpu_node_recipe_name=${RECIPE}`,
      ]),
    );
    // The recipe key given in BAKE_PROPERTIES too is passed once, not twice.
    expect(props.filter((p) => p.startsWith('gpu_node_recipe_key='))).toHaveLength(1);
    const bakedAt = props.filter((p) => p.startsWith('gpu_node_baked_at='));
    expect(bakedAt).toHaveLength(1);
    expect(bakedAt[0]).toMatch(/^gpu_node_baked_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The key tag finds the bake later (Nova copies properties into node snapshots, not tags).
    expect(optionValues(args, '--tag')).toEqual(['gpu-node', 'cuda-12', 'l4', `${MARK.imageTagPrefix}${KEY}`]);
    expect(args).toContain('--private');
  });

  test('verifies the image is active, then deletes the builder', () => {
    expect(callsOf(r, 'image', 'show')).toEqual([['image', 'show', '-f', 'value', '-c', 'status', CREATED_IMAGE_ID]]);
    expect(callsOf(r, 'server', 'delete')).toEqual([['server', 'delete', '--wait', SERVER]]);
    const verbs = r.calls.map((c) => c.slice(0, 2).join(' '));
    expect(verbs.indexOf('server delete')).toBeGreaterThan(verbs.indexOf('image show'));
  });

  test('uses OS_CLOUD=openstack by default on every call', () => {
    expect(r.clouds.length).toBeGreaterThan(5);
    expect(new Set(r.clouds)).toEqual(new Set(['openstack']));
  });
});

describe('gpu-node-watch.sh bake: waiting for the node', () => {
  test('polls until the ready line appears, printing progress', () => {
    const r = run({
      console: [BOOTING, BOOTING, [...BOOTING, READY, SEALING, SEALED]],
      status: ['ACTIVE', 'ACTIVE', 'SHUTOFF'],
      env: { BAKE_TIMEOUT: '60' },
    });
    expect(r.code).toBe(0);
    expect(callsOf(r, 'console', 'log', 'show')).toHaveLength(3);
    expect(r.stdout.match(/^bake: \[0m\d\ds\] waiting \(server status ACTIVE\)$/gm)).toHaveLength(2);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(1);
  });

  test('ignores a ready line of another recipe key and times out', () => {
    const otherKey = `${MARK.markReady} recipe=${RECIPE} key=${KEY}0 gpus=1`;
    const r = run({
      console: [[...BOOTING, otherKey, `${MARK.markReady} recipe=${RECIPE} key=other gpus=1`]],
      status: ['ACTIVE'],
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('timed out');
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
  });

  test('a failure line fails the bake, quotes it and keeps the builder', () => {
    const failed = `[  640.1] cloud-init[1234]: ${MARK.markFailed} recipe=${RECIPE} step=driver reason="dkms build failed for 570-open"`;
    const r = run({ console: [[...BOOTING, failed]], status: ['ACTIVE'], env: { BAKE_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(failed);
    expect(r.stderr).toContain(`builder server ${SERVER} kept for debugging`);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
    expect(callsOf(r, 'console', 'log', 'show')).toHaveLength(1); // no further polling
  });

  test('timeout: exit 1 with elapsed time, the last 20 console lines and how to inspect', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `boot-msg-${i + 1}`);
    const r = run({ console: [lines], status: ['ACTIVE'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out after \dm\d\ds \(BAKE_TIMEOUT=0s\)/);
    expect(r.stderr).toContain('boot-msg-11\n');
    expect(r.stderr).toContain('boot-msg-30\n');
    expect(r.stderr).not.toContain('boot-msg-10\n');
    expect(r.stderr).toContain(`openstack --os-cloud openstack console log show ${SERVER}`);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });

  test('a builder in ERROR stops the wait', () => {
    const r = run({ console: [BOOTING], status: ['ERROR'], env: { BAKE_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('status ERROR');
    expect(callsOf(r, 'console', 'log', 'show')).toHaveLength(1);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });

  test('a builder that powered off with the ready line scrolled out is found in the full log', () => {
    const shutdownNoise = Array.from({ length: 5 }, (_, i) => `[  900.${i}] systemd-shutdown[1]: step ${i}`);
    const r = run({
      console: [shutdownNoise],
      consoleFull: [...BOOTING, READY, SEALING, SEALED, ...shutdownNoise],
      status: ['SHUTOFF'],
      env: { BAKE_TIMEOUT: '60' },
    });
    expect(r.code).toBe(0);
    expect(callsOf(r, 'console', 'log', 'show')).toContainEqual(['console', 'log', 'show', SERVER]);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(1);
  });

  test('a builder that powered off without any ready line fails at once', () => {
    const r = run({ console: [BOOTING], status: ['SHUTOFF'], env: { BAKE_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('powered off without printing');
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
  });
});

describe('gpu-node-watch.sh bake: sealing and power-off before the snapshot', () => {
  test('waits for the sealed builder to power off, then snapshots it', () => {
    const r = run({ status: ['ACTIVE', 'ACTIVE', 'SHUTOFF'], env: { BAKE_SHUTOFF_TIMEOUT: '60' } });
    expect(r.code).toBe(0);
    expect(callsOf(r, 'server', 'show').length).toBe(3);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(1);
    expect(callsOf(r, 'server', 'stop')).toHaveLength(0);
  });

  test('a seal failure on the console fails the bake: no snapshot, builder kept', () => {
    const sealFailed = `${MARK.markFailed} recipe=${RECIPE} step=seal-snapshot reason="seal cleanup failed: cloud-init clean --logs --machine-id"`;
    const r = run({ console: [[READY, `${MARK.markSealing} recipe=${RECIPE}`], [READY, sealFailed]], status: ['ACTIVE'],
      env: { BAKE_SHUTOFF_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the builder could not seal itself for the snapshot: ${sealFailed}`);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });

  test('a builder that powered off without the SEALED line (for this key) is not snapshotted', () => {
    const otherKey = SEALED.replace(`key=${KEY}`, 'key=other');
    const r = run({ console: [[...BOOTING, READY, SEALING, otherKey]], consoleFull: [...BOOTING, READY, SEALING, otherKey] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`powered off without '${MARK.markSealed} key=${KEY}' on its console`);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });

  test('a builder that never powers off is not stopped and snapshotted unsealed', () => {
    const r = run({ status: ['ACTIVE'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('did not seal itself and power off within 0s');
    expect(r.stderr).toContain('no image was made from an unsealed disk');
    expect(callsOf(r, 'server', 'stop')).toHaveLength(0);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });
});

describe('gpu-node-watch.sh bake: idempotence and options', () => {
  test('an active image with the recipe key is reused: no snapshot, builder still deleted', () => {
    const r = run({ existingImages: 'aaaa-bbbb gpu-node-l4-cuda-old' });
    expect(r.code).toBe(0);
    expect(callsOf(r, 'image', 'list')).toEqual([
      ['image', 'list', '--tag', `${MARK.imageTagPrefix}${KEY}`, '--status', 'active', '-f', 'value', '-c', 'ID', '-c', 'Name'],
    ]);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
    expect(callsOf(r, 'console', 'log', 'show')).toHaveLength(0);
    expect(callsOf(r, 'server', 'delete')).toEqual([['server', 'delete', '--wait', SERVER]]);
    expect(r.stdout).toContain('already has');
    expect(r.stdout.trim().split('\n').pop()).toBe(`bake: image aaaa-bbbb gpu-node-l4-cuda-old ready for recipe key ${KEY}`);
  });

  test('BAKE_DELETE_BUILDER=false keeps the builder', () => {
    const r = run({ env: { BAKE_DELETE_BUILDER: 'false' } });
    expect(r.code).toBe(0);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(1);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });

  test('BAKE_VISIBILITY=shared sets --shared instead of --private', () => {
    const r = run({ env: { BAKE_VISIBILITY: 'shared' } });
    expect(r.code).toBe(0);
    const args = callsOf(r, 'image', 'set')[0];
    expect(args).toContain('--shared');
    expect(args).not.toContain('--private');
  });

  test('OS_CLOUD selects the clouds.yaml cloud for every call', () => {
    const r = run({ env: { OS_CLOUD: 'lab-cloud' } });
    expect(r.code).toBe(0);
    expect(new Set(r.clouds)).toEqual(new Set(['lab-cloud']));
  });

  test('an image that is not active after the snapshot fails the bake', () => {
    const r = run({ imageStatus: 'queued' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`image ${CREATED_IMAGE_ID} is 'queued'`);
    expect(callsOf(r, 'server', 'delete')).toHaveLength(0);
  });
});

describe('gpu-node-watch.sh bake: prerequisites (exit 2)', () => {
  test('missing openstack CLI names the packages to install', () => {
    const r = run({ withoutCli: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('python3-openstackclient');
    expect(r.stderr).toContain('pip install python-openstackclient');
  });

  test.each(['BAKE_SERVER_ID', 'BAKE_IMAGE_NAME', 'BAKE_RECIPE_KEY', 'BAKE_RECIPE_NAME'])(
    'missing %s is reported before any cloud call',
    (name) => {
      const r = run({ env: { [name]: undefined } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${name} is required`);
      expect(r.calls).toHaveLength(0);
    },
  );

  test('authentication failure names the cloud and the clouds.yaml locations', () => {
    const r = run({ authFail: true, env: { OS_CLOUD: 'lab-cloud' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("clouds.yaml cloud 'lab-cloud' cannot authenticate");
    expect(r.stderr).toContain('HTTP 401'); // the CLI's own reason is passed on
    for (const p of ['OS_CLIENT_CONFIG_FILE', './clouds.yaml', '~/.config/openstack/clouds.yaml', '/etc/openstack/clouds.yaml']) {
      expect(r.stderr).toContain(p);
    }
    expect(r.calls.map((c) => c.slice(0, 2).join(' '))).toEqual(['token issue']);
  });

  test.each([
    [{ BAKE_VISIBILITY: 'everyone' }, 'BAKE_VISIBILITY'],
    [{ BAKE_TIMEOUT: '1h' }, 'BAKE_TIMEOUT'],
    [{ BAKE_DELETE_BUILDER: 'yes' }, 'BAKE_DELETE_BUILDER'],
    [{ BAKE_PROPERTIES: 'gpu_node_driver' }, 'not key=value'],
  ])('invalid input %j is rejected up front', (env, message) => {
    const r = run({ env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.calls).toHaveLength(0);
  });
});

describe('gpu-node-watch.sh: the file itself', () => {
  test('is executable and under 21 KB (read by people debugging a bake, a wait, a power change or a failed deploy)', () => {
    const st = fs.statSync(SCRIPT);
    expect(st.mode & 0o111).not.toBe(0);
    expect(st.size).toBeLessThan(21 * 1024);
  });

  test('without a mode it says how to call it', () => {
    const r = spawnSync(BASH, [SCRIPT], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: gpu-node-watch.sh ready|bake');
  });

  testUnless(toolGap('shellcheck', 'apt-get install shellcheck'), 'passes shellcheck', () => {
    const r = spawnSync('shellcheck', [SCRIPT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('gpu-node-watch.sh bake: the seal line is read while the builder still runs', () => {
  test('the SEALED line seen before SHUTOFF is enough, even when the stopped server shows no console', () => {
    // Poll 1: ready; poll 2 (seal phase): sealed; then SHUTOFF with an empty console.
    const r = run({
      console: [[...BOOTING, READY, SEALING], [...BOOTING, READY, SEALING, SEALED], []],
      consoleFull: [],
      status: ['ACTIVE', 'ACTIVE', 'SHUTOFF'],
      env: { BAKE_TIMEOUT: '60', BAKE_SHUTOFF_TIMEOUT: '60' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(1);
    // No full-console read was needed after the power-off.
    expect(callsOf(r, 'console', 'log', 'show').every((c) => c.includes('--lines'))).toBe(true);
    expect(r.stdout).toContain('console read every 0s');
  });

  test('powered off before the seal line was seen and no console while stopped: no image, a clear reason', () => {
    const r = run({
      console: [[...BOOTING, READY, SEALING], []],
      consoleFull: [],
      status: ['ACTIVE', 'SHUTOFF'],
      env: { BAKE_TIMEOUT: '60', BAKE_SHUTOFF_TIMEOUT: '60' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the cloud shows no console log for the stopped server');
    expect(callsOf(r, 'server', 'image', 'create')).toHaveLength(0);
  });

  test('a seal line of an earlier boot does not count', () => {
    const r = run({ console: [[SEALED, ...BOOTING, READY, SEALING]], consoleFull: [SEALED, ...BOOTING, READY, SEALING] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`powered off without '${MARK.markSealed} key=${KEY}' on its console`);
  });
});

describe('gpu-node-watch.sh ready (waitForReady)', () => {
  const READY_2 = `[  95.1] gpu-node-run[812]: ${MARK.markReady} recipe=${RECIPE} key=${KEY} gpus=2 model="NVIDIA GeForce RTX 2080 Ti" driver=570.195.03`;
  const FAILED = `[  640.1] gpu-node-run[812]: ${MARK.markFailed} recipe=${RECIPE} step=ready-check reason="expected 2 GPUs, nvidia-smi lists 1"`;

  test('returns when this boot shows the ready line, polling until then', () => {
    const r = run({ mode: 'ready', console: [BOOTING, BOOTING, [...BOOTING, READY_2]], status: ['BUILD', 'ACTIVE'], env: { WATCH_TIMEOUT: '60' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The elapsed time depends on the machine's load: only its shape is fixed.
    expect(r.stdout.replace(/\[0m\d\ds\]/g, '[0mNNs]')).toContain(`wait-ready: [0mNNs] workers/Node is ready: ${READY_2}`);
    expect(r.stdout.match(/waiting \(server status (BUILD|ACTIVE)\)/g)).toHaveLength(2);
    expect(callsOf(r, 'console', 'log', 'show')[0]).toEqual(['console', 'log', 'show', '--lines', '1000', SERVER]);
    // Only reads: it never changes the server.
    expect(r.calls.map((c) => c.slice(0, 2).join(' ')).filter((v) => !['token issue', 'server show', 'console log'].includes(v))).toEqual([]);
  });

  test('a ready line of an earlier boot does not count: after a restart it waits for the new one', () => {
    const earlier = [...BOOTING, READY_2, '[ 9000.0] reboot: Power down'];
    const r = run({ mode: 'ready', console: [[...earlier, ...BOOTING]], status: ['ACTIVE'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out after \dm\d\ds \(WATCH_TIMEOUT=0s\) waiting for 'GPU-NODE-READY recipe=l4-cuda' on workers\/Node/);
  });

  test('the latest verdict of this boot wins, and another recipe is not this node', () => {
    const other = `${MARK.markReady} recipe=${RECIPE}-x key=${KEY} gpus=2`;
    expect(run({ mode: 'ready', console: [[...BOOTING, FAILED, READY_2]] }).code).toBe(0);
    expect(run({ mode: 'ready', console: [[...BOOTING, other]] }).code).toBe(1);
  });

  test("fails with the node's own failure line", () => {
    const r = run({ mode: 'ready', console: [[...BOOTING, READY_2, ...BOOTING, FAILED]], env: { WATCH_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`wait-ready: ERROR: workers/Node reported a failure: ${FAILED}`);
    expect(r.stderr).toContain(`console log show ${SERVER}`);
    expect(callsOf(r, 'console', 'log', 'show')).toHaveLength(1);
  });

  test('times out with the last console lines', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `boot-msg-${i + 1}`);
    const r = run({ mode: 'ready', console: [lines], status: ['ACTIVE'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('timed out after');
    expect(r.stderr).toContain('boot-msg-30\n');
    expect(r.stderr).not.toContain('boot-msg-10\n');
  });

  test('an empty console while SHUTOFF is not taken as a verdict: it waits for the node to come back', () => {
    const r = run({ mode: 'ready', console: [[], [], [...BOOTING, READY_2]], status: ['SHUTOFF', 'SHUTOFF', 'ACTIVE'],
      env: { WATCH_TIMEOUT: '60', WATCH_SHUTOFF_GRACE: '60' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/waiting \(server status SHUTOFF\)/);
  });

  test('a node that stays SHUTOFF fails after the grace time, not by the console', () => {
    const r = run({ mode: 'ready', console: [[]], status: ['SHUTOFF'], env: { WATCH_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('workers/Node (server srv-0b7e4c1a) is SHUTOFF, not running');
  });

  test('a node deployed in another power state is not waited for', () => {
    const r = run({ mode: 'ready', env: { WATCH_EXPECT_STATE: 'shelved_offloaded' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("deployed as 'shelved_offloaded'; not waiting");
    expect(r.calls).toHaveLength(0);
  });

  test('ERROR stops the wait', () => {
    const r = run({ mode: 'ready', console: [BOOTING], status: ['ERROR'], env: { WATCH_TIMEOUT: '60' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('went to status ERROR');
  });

  test('without the OpenStack CLI it says so, and how to install it', () => {
    const r = run({ mode: 'ready', withoutCli: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the OpenStack CLI 'openstack' is not on PATH of the machine that runs the deploy");
    expect(r.stderr).toContain('python3-openstackclient');
  });

  test.each(['WATCH_SERVER_ID', 'WATCH_RECIPE_NAME'])('missing %s is reported before any cloud call', (name) => {
    const r = run({ mode: 'ready', env: { [name]: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${name} is required`);
    expect(r.calls).toHaveLength(0);
  });
});

describe('gpu-node-watch.sh power: STOPPED and PAUSED from whatever state the server is in', () => {
  const power = (want: string, status: string[], more: Partial<Scenario> = {}) =>
    run({ mode: 'power', status, ...more, env: { POWER_WANT: want, ...more.env } });
  const actions = (r: Result) => r.calls.filter((c) => c[0] === 'server' && c[1] !== 'show').map((c) => c.slice(0, 2).join(' '));

  test.each([['shutoff', 'SHELVED_OFFLOADED'], ['paused', 'SHELVED_OFFLOADED'], ['shutoff', 'SHELVED']])(
    'want %s, the cloud shelved it (%s): nothing is called, exit 0, it says the node stays shelved', (want, status) => {
      const r = power(want, [status]);
      expect(r.code).toBe(0);
      expect(actions(r)).toEqual([]);
      expect(r.stdout).toMatch(/workers\/Node is SHELVED.*its GPUs are free.*it stays shelved\. Deploy PowerState\.RUNNING to unshelve it/);
    });

  test('want shutoff from ACTIVE: stop, wait for SHUTOFF', () => {
    const r = power('shutoff', ['ACTIVE'], { statusAfterStop: ['ACTIVE', 'SHUTOFF'] });
    expect(r.code).toBe(0);
    expect(actions(r)).toEqual(['server stop']);
    expect(r.stdout).toMatch(/workers\/Node is SHUTOFF/);
  });

  test('want shutoff from PAUSED: unpause first (Nova stops only ACTIVE servers), then stop', () => {
    const r = power('shutoff', ['PAUSED'], { statusAfterUnpause: ['ACTIVE'], statusAfterStop: ['SHUTOFF'] });
    expect(r.code).toBe(0);
    expect(actions(r)).toEqual(['server unpause', 'server stop']);
  });

  test('want paused from ACTIVE: pause; from SHUTOFF: stays SHUTOFF and says how to pause it', () => {
    const paused = power('paused', ['ACTIVE'], { statusAfterPause: ['PAUSED'] });
    expect(paused.code).toBe(0);
    expect(actions(paused)).toEqual(['server pause']);
    const off = power('paused', ['SHUTOFF']);
    expect(off.code).toBe(0);
    expect(actions(off)).toEqual([]);
    expect(off.stdout).toMatch(/stays SHUTOFF\. Deploy PowerState\.RUNNING, then PAUSED/);
  });

  test('a stop that never arrives fails after POWER_TIMEOUT naming the node; ERROR fails at once', () => {
    const slow = power('shutoff', ['ACTIVE'], { statusAfterStop: ['ACTIVE'], env: { POWER_TIMEOUT: '1', WATCH_POLL_INTERVAL: '1' } });
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(/workers\/Node \(server srv-0b7e4c1a\) did not reach SHUTOFF within 1s/);
    const broken = power('shutoff', ['ERROR']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/workers\/Node \(server srv-0b7e4c1a\) is ERROR; cannot make it SHUTOFF/);
  });

  test('a wanted state other than shutoff or paused is a setup error (exit 2)', () => {
    const r = power('active', ['ACTIVE']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/POWER_WANT must be shutoff or paused, got 'active'/);
  });
});
