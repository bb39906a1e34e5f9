// The fleet benchmark: the library's GpuNode fleet against a raw-L1 fleet of exactly the elements
// the library writes for it, built in one process, interleaved.
//   npm run bench -- fleet            (N = 10, 100, 500, 1000)
// A child run (`fleet.ts child <kind> <N>`) measures one build's peak memory on its own.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Fn, TerraformLocal, TerraformOutput, TerraformResource, TerraformStack } from 'cdktf';
import {
  computeInstanceV2, dataOpenstackImagesImageV2, networkingFloatingipAssociateV2, networkingFloatingipV2, networkingPortV2,
} from '../.gen/providers/openstack';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, openstack, Peer } from '../src';
import { tfLiteral } from '../src/private/template';

type Kind = 'raw' | 'library';

function base(app: App): { stack: TerraformStack; network: GpuNetwork; keyPair: KeyPair } {
  const stack = new TerraformStack(app, 'fleet');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  const keyPair = new KeyPair(stack, 'Key');
  return { stack, network, keyPair };
}

function libraryFleet(app: App, n: number): void {
  const { stack, network, keyPair } = base(app);
  const recipe = new GpuRecipe({ name: 'bench' });
  for (let i = 0; i < n; i++) {
    new GpuNode(stack, `Node${i}`, { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, keyPair, recipe, nodeName: `node-${i}` });
  }
}

// The same elements, written with the generated L1 classes and cdktf's core only: one image lookup
// and one user_data local per stack; per node a port, a server with the same arguments, a floating IP
// and its association, a terraform_data rollout trigger and start-time record and the five outputs.
const rawUserData = new GpuRecipe({ name: 'bench' })._render({
  expectedGpus: 1, expectedModel: GpuModel.RTX_2060_SUPER, lifetimeHours: 168, recipeKey: 'bench',
}).text;

function rawFleet(app: App, n: number): void {
  const { stack, network, keyPair } = base(app);
  const image = new dataOpenstackImagesImageV2.DataOpenstackImagesImageV2(stack, 'Image', {
    name: 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image', mostRecent: true,
  });
  const userData = new TerraformLocal(stack, 'user_data', tfLiteral(rawUserData));
  for (let i = 0; i < n; i++) {
    const name = `node-${i}`;
    const port = new networkingPortV2.NetworkingPortV2(stack, `Port${i}`, {
      name: `${name}-port`, networkId: network.networkId, adminStateUp: true,
      fixedIp: [{ subnetId: network.subnetId }], securityGroupIds: [network.nodeSecurityGroup.securityGroupId],
    });
    const rollout = new TerraformResource(stack, `Rollout${i}`, { terraformResourceType: 'terraform_data' });
    rollout.addOverride('triggers_replace', { token: '' });
    const started = new TerraformResource(stack, `StartedAt${i}`, { terraformResourceType: 'terraform_data', lifecycle: { ignoreChanges: ['input'] } });
    started.addOverride('input', { time: Fn.timestamp() });
    const startTime = Fn.lookup(started.getAnyMapAttribute('output'), 'time', '');
    const server = new computeInstanceV2.ComputeInstanceV2(stack, `Server${i}`, {
      name, flavorName: 'g1-1x2060.medium', imageId: image.id, keyPair: keyPair.keyPairName,
      userData: Fn.base64gzip(userData.asString), powerState: 'active', network: [{ port: port.id }],
      metadata: {
        gpu_node_recipe_name: 'bench', gpu_node_recipe_key: 'bench', gpu_node_gpus: '1xRTX_2060_SUPER',
        gpu_node_started_at: startTime, gpu_node_lifetime_hours: '168', gpu_node_shelve_at: Fn.timeadd(startTime, '168h'),
      },
      tags: ['gpu-node', 'rtx_2060_super'],
      lifecycle: {
        ignoreChanges: ['user_data', 'image_id', 'image_name', 'key_pair', 'block_device', 'metadata', 'tags', 'flavor_name', 'flavor_id'],
        replaceTriggeredBy: [`terraform_data.${rollout.friendlyUniqueId}`],
      },
    });
    const fip = new networkingFloatingipV2.NetworkingFloatingipV2(stack, `Fip${i}`, { pool: 'public', description: `${name} (cdktf)` });
    new networkingFloatingipAssociateV2.NetworkingFloatingipAssociateV2(stack, `FipAssoc${i}`, { floatingIp: fip.address, portId: port.id });
    new TerraformOutput(stack, `InstanceId${i}`, { value: server.id });
    new TerraformOutput(stack, `FixedIp${i}`, { value: Fn.element(port.allFixedIps, 0) });
    new TerraformOutput(stack, `FloatingIp${i}`, { value: fip.address });
    new TerraformOutput(stack, `Ssh${i}`, { value: `ssh -i ~/.ssh/key ubuntu@${fip.address}` });
    new TerraformOutput(stack, `ShelveAt${i}`, { value: Fn.timeadd(startTime, '168h') });
  }
}

/** Builds and synthesizes one fleet; returns milliseconds and the JSON's bytes. */
export function buildFleet(kind: Kind, n: number): { ms: number; bytes: number } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${kind}-`));
  const start = process.hrtime.bigint();
  const app = new App({ outdir });
  (kind === 'raw' ? rawFleet : libraryFleet)(app, n);
  app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bytes = fs.statSync(path.join(outdir, 'stacks', 'fleet', 'cdk.tf.json')).size;
  fs.rmSync(outdir, { recursive: true, force: true });
  return { ms, bytes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Peak resident memory of one build in a process of its own, in MiB. */
function peakMemoryMiB(kind: Kind, n: number): number {
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', __filename, 'child', kind, String(n)],
    { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!).maxRssMiB;
}

export interface FleetRow { n: number; raw: { ms: number; bytes: number; mib: number }; library: { ms: number; bytes: number; mib: number } }

export function runFleetBenchmark(sizes = [10, 100, 500, 1000], runs = 3): FleetRow[] {
  buildFleet('raw', 10); buildFleet('library', 10); // warm up both paths
  const rows: FleetRow[] = [];
  for (const n of sizes) {
    const times: Record<Kind, number[]> = { raw: [], library: [] };
    const bytes: Record<Kind, number> = { raw: 0, library: 0 };
    for (let i = 0; i < runs; i++) {
      // Interleaved, and alternating which goes first, so drift of the VM hits both alike.
      for (const kind of (i % 2 === 0 ? ['raw', 'library'] : ['library', 'raw']) as Kind[]) {
        const r = buildFleet(kind, n);
        times[kind].push(r.ms);
        bytes[kind] = r.bytes;
      }
    }
    rows.push({
      n,
      raw: { ms: median(times.raw), bytes: bytes.raw, mib: peakMemoryMiB('raw', n) },
      library: { ms: median(times.library), bytes: bytes.library, mib: peakMemoryMiB('library', n) },
    });
  }
  return rows;
}

if (require.main === module && process.argv[2] === 'child') {
  const r = buildFleet(process.argv[3] as Kind, Number(process.argv[4]));
  console.log(JSON.stringify({ ...r, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}
