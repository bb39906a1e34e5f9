// What `npm pack` ships: the compiled library, its generated bindings, cloud-init/ and assets/,
// and that the compiled library works from there.
import { spawnSync } from 'child_process';
import { PROJECT_ROOT } from './support/checks';

let files: string[] = [];

beforeAll(() => {
  // prepack builds lib/ and .jsii (jsii), as a publish would.
  const r = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  files = json[0].files.map((f: { path: string }) => f.path);
});

test('the package has the compiled library, the bindings, the cloud-init scripts and the bake script', () => {
  expect(files).toEqual(expect.arrayContaining([
    'lib/src/index.js',
    'lib/src/index.d.ts',
    'lib/src/node/gpu-node.js',
    'lib/.gen/providers/openstack/index.js',
    'lib/.gen/providers/openstack/compute-instance-v2/index.js',
    'lib/.gen/providers/openstack/compute-instance-v2/index.d.ts',
    'cloud-init/node/bin/gpu-node-run',
    'cloud-init/node/lib/gpu-node-common.sh',
    // The node contract: sourced on the node, and generated into the library (lib/src/core/contract.generated.js).
    'cloud-init/node/lib/gpu-node-contract.sh',
    'cloud-init/node/lib/gpu-node-vars.sh',
    'lib/src/core/contract.generated.js',
    'cloud-init/node/steps/ready-check.sh',
    'assets/gpu-node-watch.sh',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    // The jsii assembly: what jsii-pacmak and Construct Hub read.
    '.jsii',
  ]));
  expect(files.filter((f) => /^(__tests__|src|main\.ts|provider-schema|scripts)\b/.test(f))).toEqual([]);
});

test('the compiled library synthesizes a GPU node with its shipped scripts', () => {
  const script = `
    const { App, TerraformStack, Testing } = require('cdktf');
    const gpu = require('./lib/src');
    const stack = new TerraformStack(new App(), 's');
    new gpu.openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = gpu.GpuNetwork.fromName(stack, 'Net', 'alice-net');
    new gpu.GpuNode(stack, 'Node', { flavor: gpu.GpuFlavor.of(gpu.GpuModel.RTX_2080_TI, 1), network, sshFrom: [gpu.Peer.ipv4('10.0.0.0/8')] });
    const json = JSON.parse(Testing.synth(stack));
    console.log(Object.values(json.resource.openstack_compute_instance_v2)[0].flavor_name);
  `;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('g1-1x2080.medium');
});

test('installing the package runs no script of its own, and cdktf 0.21 or CDK Terrain satisfies its peers', () => {
  const pkg = require('../package.json');
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect([hook, pkg.scripts[hook]]).toEqual([hook, undefined]);
  expect(pkg.license).toBe('Apache-2.0');
  // CDK Terrain installs as `cdktf@npm:cdktn@0.24.0`, so the peer range must reach past 0.21.
  const semver = require('semver');
  for (const version of ['0.21.0', '0.24.0']) expect([version, semver.satisfies(version, pkg.peerDependencies.cdktf)]).toEqual([version, true]);
});
