// The boot simulator: the synthesized user_data of the example app booted with the real cloud-init
// in a Debian bookworm chroot (build-chroot.sh, boot.sh), with stand-ins for the GPU world.
// Run by `npm run test:boot` (not part of the default jest run: it needs root and a cold chroot
// build takes minutes). Skips with a printed reason where it cannot run, except under CI as root.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PROJECT_ROOT, userDataOf } from '../support/checks';

const SIM = path.join(PROJECT_ROOT, '__tests__', 'boot-sim');
const GPU_2080 = 'NVIDIA GeForce RTX 2080 Ti, 570.172.08';

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (debootstrap, chroot and mount need root)';
  for (const tool of ['debootstrap', 'chroot', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `no ${tool} on PATH (apt-get install debootstrap)`;
  }
  return undefined;
}
const reason = whyNot();
if (reason && process.env.CI) throw new Error(`boot simulator must run in CI, but: ${reason}`);
if (reason) console.log(`boot-sim: skipped: ${reason}`);
const simTest = reason ? test.skip : test;

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-sim-synth-'));
const scenarioRoot = path.join(PROJECT_ROOT, '.boot-sim', 'scenarios');
const times: Record<string, string> = {};
let userData: Record<string, string> = {};

/** The user_data text of a stack's (first) server, with Terraform's template escapes undone. */
function stackUserData(stack: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
  const server = Object.values(json.resource.openstack_compute_instance_v2 as Record<string, any>)[0];
  return userDataOf(json, server).replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

beforeAll(() => {
  if (reason) return;
  let t = Date.now();
  const built = spawnSync('bash', [path.join(SIM, 'build-chroot.sh')], { encoding: 'utf8', timeout: 1_200_000 });
  if (built.status !== 0) throw new Error(`build-chroot.sh exited ${built.status}:\n${built.stdout}\n${built.stderr}`);
  times.chroot = `${((Date.now() - t) / 1000).toFixed(1)} s (${/reusing/.test(built.stdout) ? 'cached' : 'cold'})`;
  t = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' };
  for (const name of ['GPU_USER', 'SSH_PUBLIC_KEY_FILE', 'SSH_ALLOWED_CIDR', 'OS_CLOUD']) delete env[name];
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'], {
    cwd: PROJECT_ROOT, env, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`main.ts failed:\n${r.stdout}\n${r.stderr}`);
  times.synth = `${((Date.now() - t) / 1000).toFixed(1)} s`;
  userData = { 'gpu-node': stackUserData('gpu-node') };
}, 1_500_000);

afterAll(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
  if (!reason) console.log(`boot-sim times: ${JSON.stringify(times)}`);
});

interface Boot { readonly result: string; readonly console: string; readonly log: string }

class Node {
  public readonly dir: string;
  constructor(name: string, stack: string, gpus: string[], instanceId = `i-${name}`) {
    this.dir = path.join(scenarioRoot, name);
    this.removeDisk();
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'user-data'), userData[stack]);
    this.setInstance(instanceId);
    this.setGpus(gpus);
  }
  public setInstance(id: string) { fs.writeFileSync(path.join(this.dir, 'meta-data'), `instance-id: ${id}\nlocal-hostname: ${id}\n`); }
  public setGpus(gpus: string[]) { fs.writeFileSync(path.join(this.dir, 'hw-gpus'), gpus.map((g) => `${g}\n`).join('')); }
  /** One boot: cloud-init's stages, then the enabled units. */
  public boot(): Boot {
    const r = spawnSync('bash', [path.join(SIM, 'boot.sh'), this.dir], { encoding: 'utf8', timeout: 600_000 });
    const result = /BOOT-SIM boot=(\d+) result=(\S+)/.exec(r.stdout);
    if (r.status !== 0 || !result) throw new Error(`boot.sh exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    const read = (f: string) => fs.readFileSync(path.join(this.dir, `${f}-${result[1]}.log`), 'utf8');
    return { result: result[2], console: read('console'), log: read('boot') };
  }
  public file(p: string): string { return fs.readFileSync(path.join(this.dir, 'root', p), 'utf8'); }
  public status(): any { return JSON.parse(this.file('var/lib/gpu-node/status.json')); }
  /** The errors cloud-init recorded in this boot's stages (its result.json). */
  public cloudInitErrors(): string[] { return JSON.parse(this.file('run/cloud-init/result.json')).v1.errors; }
  public installs(): string[] {
    const f = path.join(this.dir, 'root', 'sim', 'installs.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  }
  /** Deletes the scenario's disk, never while boot.sh still has something mounted in it. */
  public removeDisk() {
    const mounts = fs.readFileSync('/proc/mounts', 'utf8');
    if (mounts.includes(` ${this.dir}/`)) throw new Error(`${this.dir} still has mounts:\n${mounts}`);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a scenario and records its time for the report. */
function timed<T>(name: string, body: () => T): T {
  const t = Date.now();
  try { return body(); } finally { times[name] = `${((Date.now() - t) / 1000).toFixed(1)} s`; }
}

simTest('(a) first boot: cloud-init writes the recipe, the unit installs the pinned packages, console says READY', () => timed('a', () => {
  const node = new Node('a-first-boot', 'gpu-node', [GPU_2080]);
  const boot = node.boot();
  expect(boot.result).toBe('ok');
  expect(node.cloudInitErrors()).toEqual([]);
  expect(boot.console).toMatch(/^GPU-NODE-READY recipe=cuda-base key=\S+ gpus=1 model="NVIDIA GeForce RTX 2080 Ti" driver=570\.172\.08$/m);
  expect(node.status()).toMatchObject({ state: 'ready', recipe: 'cuda-base', gpus: 1, model: 'NVIDIA GeForce RTX 2080 Ti', driver: '570.172.08' });
  // The exact pinned packages, each installed once: driver branch 570 (open), CUDA 12.8, the container toolkit.
  const installs = node.installs();
  for (const pkg of ['nvidia-open-570', 'cuda-toolkit-12-8', 'linux-headers-6.8.0-45-generic', 'nvidia-container-toolkit']) {
    expect(installs.filter((p) => p === pkg)).toEqual([pkg]);
  }
  // cloud-init's own package module ran through apt too (the recipe's packages).
  expect(installs).toEqual(expect.arrayContaining(['htop', 'nvtop']));
  node.removeDisk();
}), 900_000);
