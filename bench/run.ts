// Benchmark: speed of synthesis and binding generation, and the size of rendered user_data.
//   npm run bench      (prints a table; writes bench/results/latest.json)
// Numbers go in the README, not in timed tests.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import {
  CudaToolkit, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, NvidiaDriver, openstack, Peer,
} from '../src';

const root = path.resolve(__dirname, '..');
const rows: [string, string][] = [];
const results: Record<string, number> = {};

function record(name: string, value: number, unit: string): void {
  results[name] = value;
  rows.push([name, `${unit === 'ms' ? value.toFixed(0) : value} ${unit}`]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(fn: () => void, runs = 3): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

// Binding generation from the pinned schema (forced, into a temp folder).
const genOut = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gen-'));
record('gen-bindings (forced)', time(() => {
  execFileSync(process.execPath, [path.join(root, 'scripts/gen-bindings.mjs'), '--force', '--out', genOut], { stdio: 'ignore' });
}), 'ms');

// The example app as `cdktf synth` runs it (a fresh node process with ts-node).
record('example app synth (4 stacks, ts-node)', time(() => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'],
    { cwd: root, env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' } });
  if (r.status !== 0) throw new Error(String(r.stderr));
}), 'ms');

// In-process synthesis of stacks with many nodes.
const recipe = new GpuRecipe({ name: 'bench', nvidiaDriver: NvidiaDriver.R570_OPEN, cuda: CudaToolkit.V12_8 });
for (const nodes of [1, 10, 50]) {
  record(`synth of a stack with ${nodes} GPU node(s)`, time(() => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nodes-')) });
    const stack = new TerraformStack(app, 'fleet');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const keyPair = new KeyPair(stack, 'Key');
    for (let i = 0; i < nodes; i++) {
      new GpuNode(stack, `Node${i}`, { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, keyPair, recipe });
    }
    app.synth();
  }), 'ms');
}

// user_data sizes (Nova accepts at most 65,535 bytes after base64).
const variants: [string, GpuRecipe, boolean][] = [
  ['driver only', new GpuRecipe({ installCuda: false, containerToolkit: false }), false],
  ['default (driver, CUDA, container toolkit) + lifetime', new GpuRecipe(), false],
  ['full (+ burn-in, packages, files, commands) + seal', new GpuRecipe({
    burnInSeconds: 300, packages: ['htop', 'nvtop'], commands: ['pip install torch'],
    files: [{ path: '/etc/motd.d/99-lab', content: 'Lab node\n' }],
  }), true],
  ['50 kB extra file (compressed to fit)', new GpuRecipe({
    files: [{ path: '/opt/data.txt', content: 'line of a config file\n'.repeat(2400) }],
  }), false],
];
for (const [name, r, seal] of variants) {
  const out = r.render({ expectedGpus: 2, expectedModel: GpuModel.RTX_2080_TI, lifetimeHours: 168, sealForSnapshot: seal });
  record(`user_data ${name}: bytes`, out.bytes, 'B');
  record(`user_data ${name}: base64${out.compressed ? ' (gz+b64 files)' : ''}`, out.base64Bytes, 'B');
}

const width = Math.max(...rows.map(([n]) => n.length));
console.log(`cdktf-openstack-gpu benchmark (${os.cpus().length} cores, node ${process.version}, median of 3 where timed)`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/latest.json'), JSON.stringify(results, null, 2) + '\n');
