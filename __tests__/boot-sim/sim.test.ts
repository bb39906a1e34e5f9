// The boot simulator: the synthesized user_data of the example app booted with the real cloud-init
// in a Debian bookworm chroot (build-chroot.sh, boot.sh), with stand-ins for the GPU world.
// Run by `npm run test:boot` (not part of the default jest run: it needs root and a cold chroot
// build takes minutes). Skips with a printed reason where it cannot run, except under CI as root.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GpuModel, GpuRecipe } from '../../src';
import { PROJECT_ROOT, userDataOf } from '../support/checks';

const SIM = path.join(PROJECT_ROOT, '__tests__', 'boot-sim');
const GPU_2080 = 'NVIDIA GeForce RTX 2080 Ti, 580.95.05';

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
  userData = { 'gpu-node': stackUserData('gpu-node'), 'bake': stackUserData('bake'), 'workers': stackUserData('workers'),
    // No example stack has an NVSwitch board: the recipe's own rendering for an HGX H100 8-GPU node.
    'hgx': new GpuRecipe({ name: 'hgx' })._render({ expectedGpus: 8, expectedModel: GpuModel.H100_SXM5 }).text };
}, 1_500_000);

afterAll(() => {
  fs.rmSync(outdir, { recursive: true, force: true });
  if (!reason) console.log(`boot-sim times: ${JSON.stringify(times)}`);
});

interface Boot { readonly result: string; readonly console: string; readonly log: string }

class Node {
  public readonly dir: string;
  // A failed scenario keeps its disk under .boot-sim/scenarios/<name> to look at; the next run replaces it.
  constructor(name: string, stack: string, gpus: string[], instanceId = `i-${name}`) {
    this.dir = path.join(scenarioRoot, name);
    this.removeDisk();
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'user-data'), userData[stack]);
    this.setInstance(instanceId);
    this.setGpus(gpus);
  }
  public setInstance(id: string) { fs.writeFileSync(path.join(this.dir, 'meta-data'), `instance-id: ${id}\nlocal-hostname: ${id}\n`); }
  /** Settings for the fakebin stand-ins (FAKE_*), from the next boot on; none when empty. */
  public setEnv(env: Record<string, string>) {
    const f = path.join(this.dir, 'env');
    if (Object.keys(env).length === 0) fs.rmSync(f, { force: true });
    else fs.writeFileSync(f, Object.entries(env).map(([k, v]) => `${k}='${v}'\n`).join(''));
  }
  public setKernel(release: string) { fs.writeFileSync(path.join(this.dir, 'kernel'), `${release}\n`); }
  /** A file for the chroot's /sim, for the next boot only (power-loss-on, lists-lock-for). */
  public once(name: string, text: string) {
    fs.mkdirSync(path.join(this.dir, 'once'), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'once', name), text);
  }
  public calls(): string[] { return this.file('sim/calls.log').split('\n').filter(Boolean); }
  public bootId(n: number): string { return fs.readFileSync(path.join(this.dir, `boot-id-${n}`), 'utf8').trim(); }
  public setStack(stack: string) { fs.writeFileSync(path.join(this.dir, 'user-data'), userData[stack]); }
  public setGpus(gpus: string[]) { fs.writeFileSync(path.join(this.dir, 'hw-gpus'), gpus.map((g) => `${g}\n`).join('')); }
  /** One boot: cloud-init's stages, then the enabled units. */
  public boot(): Boot {
    const r = spawnSync('bash', [path.join(SIM, 'boot.sh'), this.dir], { encoding: 'utf8', timeout: 600_000 });
    const result = /BOOT-SIM boot=(\d+) result=(\S+)/.exec(r.stdout);
    if (r.status !== 0 || !result) throw new Error(`boot.sh exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    const read = (f: string) => fs.readFileSync(path.join(this.dir, `${f}-${result[1]}.log`), 'utf8');
    return { result: result[2], console: read('console'), log: read('boot') };
  }
  /** Time passes on the running node: each timer the recipe enabled fires once (tick.sh); this boot's console so far. */
  public tick(): { result: string; console: string } {
    const r = spawnSync('bash', [path.join(SIM, 'tick.sh'), this.dir], { encoding: 'utf8', timeout: 300_000 });
    const result = /BOOT-SIM tick boot=(\d+) result=(\S+)/.exec(r.stdout);
    if (r.status !== 0 || !result) throw new Error(`tick.sh exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return { result: result[2], console: fs.readFileSync(path.join(this.dir, `console-${result[1]}.log`), 'utf8') };
  }
  /** Writes a file in the node's disk (the running node changes under the recipe). */
  public write(p: string, text: string) { fs.writeFileSync(path.join(this.dir, 'root', p), text); }
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
  expect(boot.console).toMatch(/^GPU-NODE-READY recipe=cuda-base key=\S+ gpus=1 model="NVIDIA GeForce RTX 2080 Ti" driver=580\.95\.05$/m);
  expect(node.status()).toMatchObject({ state: 'ready', recipe: 'cuda-base', gpus: 1, model: 'NVIDIA GeForce RTX 2080 Ti', driver: '580.95.05' });
  // The exact pinned packages, each installed once: driver branch 580 (open), CUDA 13.0, the container toolkit.
  const installs = node.installs();
  for (const pkg of ['nvidia-open-580', 'cuda-toolkit-13-0', 'linux-headers-6.8.0-45-generic', 'nvidia-container-toolkit']) {
    expect(installs.filter((p) => p === pkg)).toEqual([pkg]);
  }
  // The recipe's packages: the runner's packages step, not cloud-init's package module.
  expect(installs).toEqual(expect.arrayContaining(['htop', 'nvtop']));
  expect(node.file('var/log/gpu-node/recipe.log')).toMatch(/\[packages\] installed htop nvtop/);
  // The container smoke check ran (the toolkit is in the recipe) and saw the GPU.
  expect(node.calls()).toContain('nvidia-container-cli --load-kmods info --csv');
  // A later boot where containers cannot reach the GPUs (e.g. an NVML mismatch): FAILED with that reason.
  node.setEnv({ FAKE_CONTAINER_CLI_ERROR: 'initialization error: nvml error: driver/library version mismatch' });
  const broken = node.boot();
  expect(broken.result).toBe('unit-failed');
  expect(broken.console).not.toMatch(/GPU-NODE-READY/);
  expect(broken.console).toMatch(/^GPU-NODE-FAILED recipe=cuda-base step=ready-check reason="containers cannot reach the GPUs: nvidia-container-cli: initialization error: nvml error: driver\/library version mismatch"$/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'ready-check', boot_id: node.bootId(2) });
  node.removeDisk();
}), 900_000);

const READY = /^GPU-NODE-READY recipe=cuda-base key=\S+ gpus=1 model="NVIDIA GeForce RTX 2080 Ti" driver=580\.95\.05$/m;
const count = (list: string[], item: string) => list.filter((x) => x === item).length;

simTest('(b) power loss after the driver step: the next boot resumes the install, without reinstalling the driver', () => timed('b', () => {
  const node = new Node('b-power-loss', 'gpu-node', [GPU_2080]);
  node.once('power-loss-on', 'cuda-toolkit-13-0'); // the step after nvidia-driver
  const lost = node.boot();
  expect(lost.result).toBe('power-loss');
  expect(lost.console).not.toMatch(/GPU-NODE-(READY|FAILED)/);
  expect(node.status()).toMatchObject({ state: 'running' });
  const second = node.boot();
  expect(second.result).toBe('ok');
  expect(second.console).toMatch(READY);
  expect(node.status()).toMatchObject({ state: 'ready', boot_id: node.bootId(2) });
  const installs = node.installs();
  expect(count(installs, 'nvidia-open-580')).toBe(1);
  expect(count(installs, 'cuda-toolkit-13-0')).toBe(1); // the cut install, done again
  // Same instance: cloud-init did not run runcmd again; the enabled unit did the work.
  expect(node.calls().filter((c) => c.startsWith('systemctl enable'))).toHaveLength(1);
  node.removeDisk();
}), 900_000);

simTest('(j) every reboot runs the recipe under systemd\'s real ordering: no cycle deletes the unit\'s job, each boot gets its own verdict', () => timed('j', () => {
  const node = new Node('j-boot-order', 'gpu-node', [GPU_2080]);
  const first = node.boot();
  // Up to f0a922e the unit (After=cloud-final, WantedBy=multi-user.target) made a loop with Debian's and
  // Ubuntu's cloud-final (After=multi-user.target): systemd deleted its job, nothing ran (result ordering-cycle).
  expect(first.log).not.toMatch(/ordering cycle/);
  expect(first.result).toBe('ok');
  expect(first.console).toMatch(READY);
  const reboot = node.boot();
  expect(reboot.log).not.toMatch(/ordering cycle/);
  expect(reboot.result).toBe('ok');
  expect(reboot.console).toMatch(READY);
  // This boot's verdict, not the previous one's left in place.
  expect(node.status()).toMatchObject({ state: 'ready', boot_id: node.bootId(2) });
  expect(node.bootId(2)).not.toBe(node.bootId(1));
  node.removeDisk();
}), 900_000);

simTest('(k) power loss mid-unpack of the driver: the next boot runs dpkg --configure -a, finishes the install, READY', () => timed('k', () => {
  const node = new Node('k-dpkg-interrupted', 'gpu-node', [GPU_2080]);
  node.once('power-loss-on', 'nvidia-open-580');
  expect(node.boot().result).toBe('power-loss');
  expect(fs.readdirSync(path.join(node.dir, 'root', 'var/lib/dpkg/updates'))).toEqual(['0001']); // dpkg's journal left behind
  const second = node.boot();
  // Up to f0a922e: apt refused every install ("dpkg was interrupted") and the step failed at every boot.
  expect(second.console).not.toMatch(/GPU-NODE-FAILED/);
  expect(second.result).toBe('ok');
  expect(second.console).toMatch(READY);
  expect(node.calls()).toContain('dpkg --configure -a');
  expect(node.file('var/log/gpu-node/recipe.log')).toMatch(/dpkg was interrupted \(a power loss during an install\?\); running dpkg --configure -a/);
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1);
  node.removeDisk();
}), 900_000);

simTest('(l) no GPU on the PCI bus at first boot: FAILED at once saying so, nothing installed, no reboot', () => timed('l', () => {
  const node = new Node('l-no-gpu', 'gpu-node', []);
  const boot = node.boot();
  expect(boot.result).toBe('unit-failed');
  // Up to f0a922e: the driver installed, then the readiness check failed with "nvidia-smi failed: No devices were found".
  expect(boot.console).toMatch(/^GPU-NODE-FAILED recipe=cuda-base step=nvidia-driver reason="no NVIDIA device on the PCI bus \(lspci -d 10de: lists none\); the hypervisor passed no GPU to this instance"$/m);
  expect(boot.console).not.toMatch(/GPU-NODE-REBOOTING/);
  expect(node.installs().filter((p) => /nvidia|cuda/.test(p))).toEqual([]);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'nvidia-driver', boot_id: node.bootId(1) });
  node.removeDisk();
}), 900_000);

simTest('(c) the driver module does not load: the runner reboots once, the next boot is READY', () => timed('c', () => {
  const node = new Node('c-reboot', 'gpu-node', [GPU_2080]);
  node.setEnv({ FAKE_MODPROBE_FAIL: '1' }); // loads only after a reboot
  const first = node.boot();
  expect(first.result).toBe('reboot');
  expect(first.console).toMatch(/^GPU-NODE-REBOOTING recipe=cuda-base step=nvidia-driver reboot=1\/2 reason=".+"$/m);
  expect(node.status()).toMatchObject({ state: 'rebooting' });
  node.setEnv({});
  const second = node.boot();
  expect(second.result).toBe('ok');
  expect(second.console).toMatch(READY);
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1);
  node.removeDisk();
}), 900_000);

simTest('(d) kernel update: the next boot rebuilds the module for the new kernel; a failed rebuild is FAILED, never a stale READY', () => timed('d', () => {
  const node = new Node('d-kernel', 'gpu-node', [GPU_2080]);
  expect(node.boot().console).toMatch(READY);
  node.setKernel('6.8.0-50-generic');
  const rebuilt = node.boot();
  expect(rebuilt.console).toMatch(READY);
  expect(node.calls()).toContain('dkms autoinstall -k 6.8.0-50-generic');
  expect(count(node.installs(), 'linux-headers-6.8.0-50-generic')).toBe(1);
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1);
  node.setKernel('6.8.0-51-generic');
  node.setEnv({ FAKE_DKMS_FAIL: '1' });
  const failed = node.boot();
  expect(failed.result).toBe('unit-failed');
  expect(failed.console).not.toMatch(/GPU-NODE-READY/);
  expect(failed.console).toMatch(/^GPU-NODE-FAILED recipe=cuda-base step=nvidia-driver reason="no nvidia module for kernel 6\.8\.0-51-generic, and the DKMS rebuild failed/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'nvidia-driver' });
  node.removeDisk();
}), 900_000);

simTest('(e) unshelve (same instance-id) of a 2-GPU node with one GPU handed back: FAILED on that boot; READY when both are back', () => timed('e', () => {
  // A workers node (g1-2x2060.medium) before the first bake: it installs from the base image.
  const node = new Node('e-unshelve', 'workers', [GPU_2060, GPU_2060]);
  const ready2 = /^GPU-NODE-READY recipe=pytorch-worker key=\S+ gpus=2 model="NVIDIA GeForce RTX 2060 SUPER" driver=580\.95\.05$/m;
  expect(node.boot().console).toMatch(ready2);
  node.setGpus([GPU_2060]);
  const missing = node.boot();
  expect(missing.result).toBe('unit-failed');
  expect(missing.console).not.toMatch(/GPU-NODE-READY/);
  expect(missing.console).toMatch(/^GPU-NODE-FAILED recipe=pytorch-worker step=ready-check reason="expected 2 GPUs, nvidia-smi lists 1"$/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'ready-check', reason: 'expected 2 GPUs, nvidia-smi lists 1', boot_id: node.bootId(2) });
  node.setGpus([]); // none handed back: none on the PCI bus
  expect(node.boot().console).toMatch(/^GPU-NODE-FAILED recipe=pytorch-worker step=nvidia-driver reason="no NVIDIA device on the PCI bus \(lspci -d 10de: lists none\); the hypervisor passed no GPU to this instance"$/m);
  node.setGpus([GPU_2060, GPU_2060]);
  expect(node.boot().console).toMatch(ready2);
  expect(node.status()).toMatchObject({ state: 'ready', gpus: 2, boot_id: node.bootId(4) });
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1);
  node.removeDisk();
}), 900_000);

simTest('(g) the apt lists lock is held when the unit starts: it waits, then installs, READY', () => timed('g', () => {
  const node = new Node('g-apt-lock', 'gpu-node', [GPU_2080]);
  node.once('lists-lock-for', '15\n'); // seconds, from the unit's first apt-get call
  const boot = node.boot();
  expect(boot.console).toMatch(READY);
  expect(node.file('var/log/gpu-node/recipe.log')).toMatch(/an apt lock is held; waiting/);
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1);
  node.removeDisk();
}), 900_000);

simTest('(h) Secure Boot refuses the unsigned module: FAILED with the Secure Boot reason, no reboot', () => timed('h', () => {
  const node = new Node('h-secure-boot', 'gpu-node', [GPU_2080]);
  node.setEnv({ FAKE_MODPROBE_FAIL: '1', FAKE_SECURE_BOOT: '1' });
  const boot = node.boot();
  expect(boot.result).toBe('unit-failed');
  expect(boot.console).toMatch(/^GPU-NODE-FAILED recipe=cuda-base step=nvidia-driver reason=".*Secure Boot.*"$/m);
  expect(boot.console).not.toMatch(/GPU-NODE-REBOOTING/);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'nvidia-driver' });
  node.removeDisk();
}), 900_000);

const GPU_2060 = 'NVIDIA GeForce RTX 2060 SUPER, 580.95.05';

simTest('(f) bake, seal, then a worker boots the snapshot (new instance-id): zero installs, READY with its 2 GPUs', () => timed('f', () => {
  const node = new Node('f-snapshot', 'bake', [GPU_2060], 'i-builder');
  const bake = node.boot();
  expect(bake.result).toBe('ok');
  expect(bake.console).toMatch(/^GPU-NODE-READY recipe=pytorch-worker key=(\S+) gpus=1 /m);
  const key = /^GPU-NODE-READY recipe=pytorch-worker key=(\S+)/m.exec(bake.console)![1];
  // The seal's cleanup (scheduled with systemd-run) ran to its end: the bake script's proof.
  expect(bake.console).toMatch(new RegExp(`^GPU-NODE-SEALED recipe=pytorch-worker key=${key}$`, 'm'));
  expect(node.calls()).toContain('poweroff ');
  expect(fs.existsSync(path.join(node.dir, 'root', 'var/lib/cloud/instances'))).toBe(false); // cloud-init clean
  const baked = node.installs();
  expect(count(baked, 'nvidia-open-580')).toBe(1);
  expect(node.calls()).toContain('python3 -m venv /opt/venv'); // the user commands ran in the bake
  const bakeCalls = node.calls().length;
  // The image: the same disk, booted by the workers stack as a new instance with 2 GPUs.
  node.setStack('workers');
  node.setInstance('i-worker1');
  node.setGpus([GPU_2060, GPU_2060]);
  let t = Date.now();
  const worker = node.boot();
  const snapshotBoot = (Date.now() - t) / 1000;
  expect(worker.result).toBe('ok');
  expect(node.cloudInitErrors()).toEqual([]);
  expect(worker.console).toMatch(new RegExp(`^GPU-NODE-READY recipe=pytorch-worker key=${key} gpus=2 model="NVIDIA GeForce RTX 2060 SUPER" driver=580\\.95\\.05$`, 'm'));
  expect(node.installs()).toEqual(baked); // no package installed on the snapshot boot
  expect(node.status()).toMatchObject({ state: 'ready', gpus: 2, boot_id: node.bootId(2) });
  // Not even apt-get update, by cloud-init or the runner; the user commands do not run again.
  const snapshotCalls = node.calls().slice(bakeCalls);
  expect(snapshotCalls.filter((c) => /^apt-get .*\b(update|install)\b/.test(c))).toEqual([]);
  expect(snapshotCalls.filter((c) => c.startsWith('python3 '))).toEqual([]);
  expect(node.file('var/log/gpu-node/recipe.log')).toMatch(/\[user-commands\] done on an earlier boot or in the image/);
  // cloud-init saw a new instance: runcmd enabled the unit again.
  expect(snapshotCalls.filter((c) => c.startsWith('systemctl enable'))).toHaveLength(1);
  // As fast as a plain reboot of the ready node (same disk, same instance).
  t = Date.now();
  expect(node.boot().console).toMatch(/^GPU-NODE-READY recipe=pytorch-worker .* gpus=2 /m);
  const plainReboot = (Date.now() - t) / 1000;
  times['f snapshot boot'] = `${snapshotBoot.toFixed(1)} s`;
  times['f plain reboot'] = `${plainReboot.toFixed(1)} s`;
  console.log(`boot-sim (f): snapshot boot ${snapshotBoot.toFixed(1)} s, plain reboot of the ready node ${plainReboot.toFixed(1)} s`);
  expect(snapshotBoot).toBeLessThan(2 * plainReboot + 5);
  node.removeDisk();
}), 900_000);

const GPU_H100_SXM = 'NVIDIA H100 80GB HBM3, 580.95.05';

simTest('(i) NVSwitch board (8x H100 SXM5): Fabric Manager pinned to the driver, started, required at every boot', () => timed('i', () => {
  const node = new Node('i-nvswitch', 'hgx', Array(8).fill(GPU_H100_SXM));
  const boot = node.boot();
  expect(boot.result).toBe('ok');
  expect(node.cloudInitErrors()).toEqual([]);
  expect(boot.console).toMatch(/^GPU-NODE-READY recipe=hgx key=\S+ gpus=8 model="NVIDIA H100 80GB HBM3" driver=580\.95\.05$/m);
  // Exactly the running driver's version, once, and the service enabled and started.
  expect(node.installs().filter((p) => p.startsWith('nvidia-fabricmanager'))).toEqual(['nvidia-fabricmanager-580=580.95.05-1']);
  expect(node.calls()).toContain('apt-mark hold nvidia-fabricmanager-580');
  expect(node.calls()).toContain('systemctl enable --now nvidia-fabricmanager.service');
  expect(node.calls()).toContain('systemctl is-active --quiet nvidia-fabricmanager.service');
  // A boot where the service did not come up: FAILED with that reason, never READY.
  node.setEnv({ FAKE_SYSTEMCTL_INACTIVE: 'nvidia-fabricmanager.service' });
  const down = node.boot();
  expect(down.result).toBe('unit-failed');
  expect(down.console).not.toMatch(/GPU-NODE-READY/);
  expect(down.console).toMatch(/^GPU-NODE-FAILED recipe=hgx step=ready-check reason="nvidia-fabricmanager\.service is not active; NVSwitch GPUs need it \(journalctl -u nvidia-fabricmanager\)"$/m);
  expect(node.installs().filter((p) => p.startsWith('nvidia-fabricmanager'))).toHaveLength(1);
  node.removeDisk();
}), 900_000);

simTest('(m) while running: a driver/library mismatch and a GPU lost are seen by the periodic check within its interval; a reboot heals the mismatch', () => timed('m', () => {
  const node = new Node('m-health', 'workers', [GPU_2060, GPU_2060]);
  const ready2 = /^GPU-NODE-READY recipe=pytorch-worker key=\S+ gpus=2 model="NVIDIA GeForce RTX 2060 SUPER" driver=580\.95\.05$/m;
  expect(node.boot().console).toMatch(ready2);
  // The timer is enabled by cloud-init's runcmd (timers.target), and a tick on a healthy node changes nothing.
  expect(fs.readlinkSync(path.join(node.dir, 'root', 'etc/systemd/system/timers.target.wants/gpu-node-health.timer')))
    .toBe('/etc/systemd/system/gpu-node-health.timer');
  let tick = node.tick();
  expect(tick.result).toBe('ok');
  expect(tick.console).not.toMatch(/step=health/);
  expect(node.status()).toMatchObject({ state: 'ready', boot_id: node.bootId(1), checked_at: expect.stringMatching(/Z$/) });
  // An unattended upgrade replaced the NVIDIA userspace under the loaded module. Up to the base of this
  // branch nothing looked again until a reboot: status.json said ready.
  node.write('sim/nvml-mismatch', '1');
  tick = node.tick();
  expect(tick.console).toMatch(/^GPU-NODE-FAILED recipe=pytorch-worker step=health reason="driver\/library version mismatch: .*a reboot loads the matching module \(Failed to initialize NVML: Driver\/library version mismatch\)"$/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'health', boot_id: node.bootId(1) });
  // The reboot loads the matching module: this boot's ready-check is READY, and the check agrees.
  expect(node.boot().console).toMatch(ready2);
  expect(node.tick().console).not.toMatch(/step=health/);
  expect(node.status()).toMatchObject({ state: 'ready', gpus: 2, boot_id: node.bootId(2) });
  // A GPU falls off the bus while running (Xid 79): failed within one interval, naming the count.
  node.write('sim/hw-gpus', `${GPU_2060}\n`);
  node.write('sim/dmesg', '[ 5120.1] NVRM: Xid (PCI:0000:00:06): 79, pid=\'<unknown>\', name=<unknown>, GPU has fallen off the bus.\n');
  tick = node.tick();
  expect(tick.console).toMatch(/^GPU-NODE-FAILED recipe=pytorch-worker step=health reason="expected 2 GPUs, nvidia-smi lists 1"$/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'health', gpus: 1, xid_errors: 1, boot_id: node.bootId(2) });
  node.removeDisk();
}), 900_000);

simTest('(n) a node snapshotted by hand from a ready node (no seal) boots on a machine with another GPU count: FAILED on that boot, never the old READY', () => timed('n', () => {
  const node = new Node('n-hand-snapshot', 'workers', [GPU_2060, GPU_2060]);
  expect(node.boot().console).toMatch(/^GPU-NODE-READY recipe=pytorch-worker .* gpus=2 /m);
  expect(node.status()).toMatchObject({ state: 'ready', boot_id: node.bootId(1) });
  // `openstack server image create` of the running node: the same disk, status.json saying ready, every
  // done marker and cloud-init's instance data kept. Booted by the workers stack on a 1-GPU machine.
  node.setInstance('i-from-hand-snapshot');
  node.setGpus([GPU_2060]);
  const boot = node.boot();
  expect(boot.result).toBe('unit-failed');
  expect(boot.console).not.toMatch(/GPU-NODE-READY/);
  expect(boot.console).toMatch(/^GPU-NODE-FAILED recipe=pytorch-worker step=ready-check reason="expected 2 GPUs, nvidia-smi lists 1"$/m);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'ready-check', boot_id: node.bootId(2) });
  expect(count(node.installs(), 'nvidia-open-580')).toBe(1); // nothing installed again
  // The periodic check leaves the boot's verdict alone (it is not its own to lift).
  expect(node.tick().console).not.toMatch(/step=health|GPU-NODE-READY/);
  expect(node.status()).toMatchObject({ state: 'failed', step: 'ready-check' });
  node.removeDisk();
}), 900_000);

