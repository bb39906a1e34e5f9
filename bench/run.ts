// Benchmark: binding generation, example synth, the fleet against raw L1, and user_data sizes.
//   npm run bench      (prints a table; writes bench/results/latest.json)
// Numbers go in the README, not in timed tests.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GpuModel, GpuRecipe } from '../src';
import { runFleetBenchmark, runRepeatBenchmark } from './fleet';

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
let exampleStacks = 0;
const exampleSynthMs = time(() => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'],
    { cwd: root, env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' } });
  if (r.status !== 0) throw new Error(String(r.stderr));
  exampleStacks = fs.readdirSync(path.join(outdir, 'stacks')).length;
});
// The stack count as synthesized, not written by hand (main.ts grows).
record(`example app synth (${exampleStacks} stacks, ts-node)`, exampleSynthMs, 'ms');

// The fleet: the library against a raw cdktf program that writes the same JSON as the library
// did before issue 25 (sizes from BENCH_FLEET_SIZES, e.g. "10,100"; runs from BENCH_FLEET_RUNS).
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();
const sizes = (process.env.BENCH_FLEET_SIZES ?? '10,100,500,1000').split(',').map(Number);
const fleetRows = runFleetBenchmark(sizes, Number(process.env.BENCH_FLEET_RUNS ?? 3));
const fleetTable = [
  '| N | raw: CPU | library: CPU | ratio | raw: JSON | library: JSON | ratio | raw: peak RSS | library: peak RSS | ratio |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...fleetRows.map(({ n, raw, library }) => `| ${n} | ${(raw.cpuMs / 1000).toFixed(2)} s | ${(library.cpuMs / 1000).toFixed(2)} s | ` +
    `${(library.cpuMs / raw.cpuMs).toFixed(2)} | ${(raw.bytes / 1e6).toFixed(2)} MB | ${(library.bytes / 1e6).toFixed(2)} MB | ` +
    `${(library.bytes / raw.bytes).toFixed(2)} | ${raw.mib} MiB | ${library.mib} MiB | ${(library.mib / raw.mib).toFixed(2)} |`),
];
for (const { n, raw, library } of fleetRows) {
  results[`fleet ${n}: raw CPU ms`] = raw.cpuMs; results[`fleet ${n}: library CPU ms`] = library.cpuMs;
  results[`fleet ${n}: raw bytes`] = raw.bytes; results[`fleet ${n}: library bytes`] = library.bytes;
  results[`fleet ${n}: raw MiB`] = raw.mib; results[`fleet ${n}: library MiB`] = library.mib;
}
// Five synths in one process (jest, a script that builds many apps): the CPU of each.
const repeatN = Number(process.env.BENCH_REPEAT_N ?? 500);
const repeats = (['library', 'raw'] as const).map((kind) => ({ kind, cpuMs: runRepeatBenchmark(kind, repeatN) }));
for (const { kind, cpuMs } of repeats) results[`repeat ${repeatN} ${kind}: fifth/first`] = cpuMs[4] / cpuMs[0];
const loadAfter = load();

// user_data sizes: Nova accepts at most 65,535 bytes of what it receives (gzip + base64).
const variants: [string, GpuRecipe, boolean][] = [
  ['driver only', new GpuRecipe({ installCuda: false, containerToolkit: false }), false],
  ['default (driver, CUDA, container toolkit) + lifetime', new GpuRecipe(), false],
  ['full (+ burn-in, packages, files, commands) + seal', new GpuRecipe({
    burnInSeconds: 300, packages: ['htop', 'nvtop'], commands: ['pip install torch'],
    files: [{ path: '/etc/motd.d/99-lab', content: 'Lab node\n' }],
  }), true],
  ['50 kB extra file', new GpuRecipe({
    files: [{ path: '/opt/data.txt', content: 'line of a config file\n'.repeat(2400) }],
  }), false],
];
for (const [name, r, seal] of variants) {
  const out = r._render({ expectedGpus: 2, expectedModel: GpuModel.RTX_2080_TI, lifetimeHours: 168, sealForSnapshot: seal });
  record(`user_data ${name}: bytes`, out.bytes, 'B');
  record(`user_data ${name}: gzip+base64`, out.base64Bytes, 'B');
}

const width = Math.max(...rows.map(([n]) => n.length));
console.log(`cdktf-openstack-gpu benchmark (${os.cpus().length} cores, node ${process.version}, median of 3 where timed)`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
console.log(`\nFleet synth, library against the same-JSON raw program (CPU of build and synth, each in a fresh process, ` +
  `interleaved, median of runs; load average ${loadBefore} before, ${loadAfter} after)`);
for (const line of fleetTable) console.log(line);
console.log(`\nFive synths of N = ${repeatN} in one process (CPU):`);
for (const { kind, cpuMs } of repeats) {
  console.log(`${kind}: ${cpuMs.map((ms) => (ms / 1000).toFixed(2)).join(' s, ')} s; fifth/first ${(cpuMs[4] / cpuMs[0]).toFixed(2)}`);
}
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/latest.json'), JSON.stringify(results, null, 2) + '\n');
