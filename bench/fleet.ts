// The fleet benchmark: the library's GpuNode fleet against a raw-L1 fleet of exactly the elements
// the library writes for it, built in one process, interleaved.
//   npm run bench -- fleet            (N = 10, 100, 500, 1000)
// A child run (`fleet.ts child <kind> <N>`) measures one build's peak memory on its own.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { App, Fn, TerraformLocal, TerraformOutput, TerraformResource, TerraformResourceConfig, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import {
  computeInstanceV2, dataOpenstackComputeFlavorV2, dataOpenstackComputeLimitsV2, dataOpenstackImagesImageV2, networkingFloatingipAssociateV2, networkingFloatingipV2, networkingPortV2,
} from '../.gen/providers/openstack';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, openstack, Peer } from '../src';
import { tfLiteral } from '../src/core/template';

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

// The same Terraform JSON as the library wrote for this fleet before issue 25 (byte for byte:
// same construct tree, so the same logical ids), written with the generated L1 classes, cdktf's
// core and plain strings, as a user of raw cdktf would: per stack one image lookup, one user_data
// local, one flavor lookup with the GPU postcondition, one limits lookup and the two quota
// locals; per node a port, a server, a floating IP and its association, the rollout trigger, the
// start-time record, the quota's creation marker and precondition, and the five outputs.
// What a user would write as literals (the recipe's text and key) comes from one node built here,
// outside the timed builds.
const probe = (() => {
  const app = new App();
  const { stack, network, keyPair } = base(app);
  const node = new GpuNode(stack, 'Probe', {
    flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, keyPair, recipe: new GpuRecipe({ name: 'bench' }), nodeName: 'probe',
  });
  return { userData: node.userData.text, recipeKey: node.recipeKey, privateKeyHint: keyPair.privateKeyHint! };
})();

/** `terraform_data` as a generated L1 class would write it (cdktf's own DataResource runs `terraform version` per resource). */
class RawTerraformData extends TerraformResource {
  constructor(scope: Construct, id: string, private readonly attrs: { input?: object; triggers_replace?: object }, config: Partial<TerraformResourceConfig> = {}) {
    super(scope, id, { ...config, terraformResourceType: 'terraform_data', terraformGeneratorMetadata: { providerName: 'terraform' } });
  }
  protected synthesizeAttributes(): { [name: string]: any } {
    return { input: this.attrs.input, triggers_replace: this.attrs.triggers_replace };
  }
}

function rawFleet(app: App, n: number): void {
  const { stack, network, keyPair } = base(app);
  stack.addOverride('terraform.required_version', '>= 1.5');
  const image = new dataOpenstackImagesImageV2.DataOpenstackImagesImageV2(new Construct(stack, 'NodeImages'), 'ByName-617f9b90c1c2', {
    name: 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image', mostRecent: true,
  });
  const userDataName = `user_data_${createHash('sha256').update(probe.userData).digest('hex').slice(0, 16)}`;
  const userData = new TerraformLocal(new Construct(stack, 'GpuNodeUserData'), userDataName, tfLiteral(probe.userData));
  userData.overrideLogicalId(userDataName);
  const paths = Array.from({ length: n }, (_, i) => `fleet/Node${i}`);
  const alias = 'lookup(self.extra_specs, "pci_passthrough:alias", "")';
  const count = `sum(concat([0], [for m in regexall(":\\\\s*([0-9]+)", ${alias}) : tonumber(m[0])]))`;
  const flavor = new dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2(new Construct(stack, 'GpuNodePreflightFlavors'), 'g11x2060medium-3cf672da', {
    name: 'g1-1x2060.medium',
    lifecycle: { postcondition: [{
      condition: `\${${alias} == "" || ${count} == 1}`,
      errorMessage: `${paths.join(', ')}: flavor g1-1x2060.medium passes through \${${count}} GPUs (pci_passthrough:alias = "\${${alias}}"), ` +
        `but ${n > 1 ? 'these nodes expect' : 'the node expects'} 1 x RTX_2060_SUPER; fix the flavor's GPUs in the cloud profile (withFlavor()) ` +
        'or GpuFlavor.named(), or set preflight: { gpus: false } where the alias does not count GPUs',
    }] },
  });
  const limits = new dataOpenstackComputeLimitsV2.DataOpenstackComputeLimitsV2(stack, 'GpuNodePreflightLimits', { projectId: '' });
  const l = `data.openstack_compute_limits_v2.${limits.friendlyUniqueId}`;
  const f = `data.openstack_compute_flavor_v2.${flavor.friendlyUniqueId}`;
  const creating: string[] = [];
  const p = 'local.GpuNodePreflight';
  for (let i = 0; i < n; i++) {
    const name = `node-${i}`;
    const scope = new Construct(stack, `Node${i}`);
    const port = new networkingPortV2.NetworkingPortV2(scope, 'Port', {
      name: `${name}-port`, networkId: network.networkId, adminStateUp: true,
      fixedIp: [{ subnetId: network.subnetId }], securityGroupIds: [network.nodeSecurityGroup.securityGroupId],
    });
    const rollout = new RawTerraformData(scope, 'Rollout', { triggers_replace: { token: '' } });
    const started = new RawTerraformData(scope, 'StartedAt', { input: { time: Fn.timestamp() } }, { lifecycle: { ignoreChanges: ['input'] } });
    const startTime = Fn.lookup(started.getAnyMapAttribute('output'), 'time', '');
    const server = new computeInstanceV2.ComputeInstanceV2(scope, 'Resource', {
      name, flavorName: 'g1-1x2060.medium', imageId: image.id, keyPair: keyPair.keyPairName,
      userData: Fn.base64gzip(userData.asString), powerState: 'active', network: [{ port: port.id }],
      timeouts: { create: '30m', update: '15m', delete: '15m' },
      metadata: {
        gpu_node_recipe_name: 'bench', gpu_node_recipe_key: probe.recipeKey, gpu_node_gpus: '1xRTX_2060_SUPER',
        gpu_node_started_at: startTime, gpu_node_lifetime_hours: '168', gpu_node_shelve_at: Fn.timeadd(startTime, '168h'),
      },
      tags: ['gpu-node', 'rtx_2060_super'],
      lifecycle: {
        ignoreChanges: ['user_data', 'image_id', 'image_name', 'key_pair', 'block_device', 'metadata', 'tags', 'flavor_name', 'flavor_id'],
        replaceTriggeredBy: [`terraform_data.${rollout.friendlyUniqueId}`],
      },
    });
    const fip = new networkingFloatingipV2.NetworkingFloatingipV2(scope, 'FloatingIp', { pool: 'public', description: `${name} (cdktf)` });
    new networkingFloatingipAssociateV2.NetworkingFloatingipAssociateV2(scope, 'FloatingIpAssociation', { floatingIp: fip.address, portId: port.id });
    const marker = new RawTerraformData(scope, 'PreflightCreated', { input: { at: '${plantimestamp()}' } },
      { lifecycle: { ignoreChanges: ['input'] }, dependsOn: [server] });
    const isNew = `(terraform_data.${marker.friendlyUniqueId}.input.at == plantimestamp())`;
    creating.push(isNew);
    new RawTerraformData(scope, 'Preflight', {}, {
      lifecycle: { precondition: [{
        condition: `\${!${isNew} || local.GpuNodePreflightFits}`,
        errorMessage: `fleet/Node${i}: the project's quota has no room for the new servers of this stack (this node: flavor g1-1x2060.medium): ` +
          `instances \${${p}.instances_used} used + \${${p}.new_instances} new of \${${p}.max_instances}, vCPUs \${${p}.cores_used} + ` +
          `\${${p}.new_cores} of \${${p}.max_cores}, RAM \${${p}.ram_used} + \${${p}.new_ram} of \${${p}.max_ram} MiB (-1 = unlimited); ` +
          'free some of the quota (shelved nodes still count as instances), or set preflight: { quota: false } on the node to skip the check',
      }] },
    });
    new TerraformOutput(scope, 'InstanceId', { value: server.id, description: `Server id of ${name}` });
    new TerraformOutput(scope, 'FixedIp', { value: Fn.element(port.allFixedIps, 0), description: `Fixed IP of ${name}` });
    new TerraformOutput(scope, 'FloatingIpAddress', { value: fip.address, description: `Floating IP of ${name}` });
    new TerraformOutput(scope, 'SshCommand', { value: `ssh -i ${probe.privateKeyHint} ubuntu@${fip.address}`, description: `SSH to ${name}` });
    new TerraformOutput(scope, 'ShelveAt', {
      value: Fn.timeadd(startTime, '168h'), description: `When the cloud shelves ${name} (UTC); deploy with PowerState.RUNNING to unshelve`,
    });
  }
  const sum = (of: string) => `\${sum([${creating.map((c) => `${c} ? ${of} : 0`).join(', ')}])}`;
  new TerraformLocal(stack, 'GpuNodePreflight', {
    max_instances: `\${${l}.max_total_instances}`, instances_used: `\${${l}.total_instances_used}`, new_instances: sum('1'),
    max_cores: `\${${l}.max_total_cores}`, cores_used: `\${${l}.total_cores_used}`, new_cores: sum(`coalesce(${f}.vcpus, 0)`),
    max_ram: `\${${l}.max_total_ram_size}`, ram_used: `\${${l}.total_ram_used}`, new_ram: sum(`coalesce(${f}.ram, 0)`),
  });
  const fits = (max: string, used: string, need: string) => `(${l}.${max} < 0 || ${l}.${used} + local.GpuNodePreflight.${need} <= ${l}.${max})`;
  new TerraformLocal(stack, 'GpuNodePreflightFits',
    `\${${fits('max_total_instances', 'total_instances_used', 'new_instances')} && ${fits('max_total_cores', 'total_cores_used', 'new_cores')} && ` +
    `${fits('max_total_ram_size', 'total_ram_used', 'new_ram')}}`);
}

/** Builds and synthesizes one fleet; returns wall and CPU milliseconds and the JSON's bytes (and text, if asked). */
export function buildFleet(kind: Kind, n: number, keepJson = false): { ms: number; cpuMs: number; bytes: number; json?: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${kind}-`));
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const app = new App({ outdir });
  (kind === 'raw' ? rawFleet : libraryFleet)(app, n);
  app.synth();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  const file = path.join(outdir, 'stacks', 'fleet', 'cdk.tf.json');
  const bytes = fs.statSync(file).size;
  const json = keepJson ? fs.readFileSync(file, 'utf8') : undefined;
  fs.rmSync(outdir, { recursive: true, force: true });
  return { ms, cpuMs: (used.user + used.system) / 1000, bytes, json };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `fleet.ts child ...` in a fresh node process and returns its last line, parsed. */
function child<T>(...args: string[]): T {
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', __filename, 'child', ...args],
    { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' }, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

interface One { cpuMs: number; bytes: number; maxRssMiB: number }
export interface FleetRow { n: number; raw: { cpuMs: number; bytes: number; mib: number }; library: { cpuMs: number; bytes: number; mib: number } }

/**
 * Each build in a fresh process (no JIT or heap left from an earlier build), CPU time of the build
 * and synth only (not node's start or ts-node), interleaved over sizes and kinds, the kind that goes
 * first alternating, so that the shared machine's load hits both alike; medians of `runs`.
 */
export function runFleetBenchmark(sizes = [10, 100, 500, 1000], runs = 3): FleetRow[] {
  const samples = new Map<string, One[]>();
  for (let i = 0; i < runs; i++) {
    for (const n of sizes) {
      for (const kind of (i % 2 === 0 ? ['raw', 'library'] : ['library', 'raw']) as Kind[]) {
        const key = `${kind} ${n}`;
        samples.set(key, [...(samples.get(key) ?? []), child<One>('one', kind, String(n))]);
      }
    }
  }
  const summary = (kind: Kind, n: number) => {
    const s = samples.get(`${kind} ${n}`)!;
    return { cpuMs: median(s.map((x) => x.cpuMs)), bytes: s[0].bytes, mib: median(s.map((x) => x.maxRssMiB)) };
  };
  return sizes.map((n) => ({ n, raw: summary('raw', n), library: summary('library', n) }));
}

/** Five synths of the same fleet in one fresh process: the CPU milliseconds of each. */
export function runRepeatBenchmark(kind: Kind, n: number, times = 5): number[] {
  return child<{ cpuMs: number[] }>('repeat', kind, String(n), String(times)).cpuMs;
}

if (require.main === module && process.argv[2] === 'child') {
  const [, , , what, kind, n, times] = process.argv;
  if (what === 'one') {
    const r = buildFleet(kind as Kind, Number(n));
    console.log(JSON.stringify({ cpuMs: r.cpuMs, bytes: r.bytes, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  } else if (what === 'repeat') {
    const cpuMs = Array.from({ length: Number(times) }, () => buildFleet(kind as Kind, Number(n)).cpuMs);
    console.log(JSON.stringify({ cpuMs }));
  } else if (what === 'json') {
    // The JSON itself, to compare the two programs: `fleet.ts child json raw 3 > raw.json`.
    process.stdout.write(buildFleet(kind as Kind, Number(n), true).json! + '\n');
  }
}
