// One local per distinct user_data text, one image lookup per image, and the base64gzip route
// checked with the real Terraform where it is on PATH.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, NodeImage, openstack, Peer, UbuntuRelease } from '../../src';
import { expectStackPassesChecks, synthToDir, userDataOf } from '../support/checks';
import { withQuotaInDir } from '../support/cloud-facts';
import { testUnless } from '../support/skip';

const fleet = () => synthToDir((app) => {
  const stack = new TerraformStack(app, 'fleet');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  const recipe = new GpuRecipe({ name: 'shared' });
  for (let i = 0; i < 3; i++) {
    new GpuNode(stack, `Node${i}`, { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, recipe });
  }
  // Another GPU count renders another text; another release another image.
  new GpuNode(stack, 'Big', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), network, recipe });
  new GpuNode(stack, 'Noble', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, recipe, image: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04),
  });
  return stack;
});

const servers = (json: any) => Object.entries<any>(json.resource.openstack_compute_instance_v2);

test('equal nodes share one user_data local; the JSON keeps the cloud-config readable', () => {
  const { json, dir } = fleet();
  // Three texts: 1 GPU on 22.04 (three nodes), 2 GPUs, and 24.04 (another base image, another recipe key).
  const locals = Object.keys(json.locals).filter((name) => name.startsWith('user_data_'));
  expect(locals).toHaveLength(3);
  for (const name of locals) expect(name).toMatch(/^user_data_[0-9a-f]{16}$/);
  const argument = (id: string) => servers(json).find(([name]) => name.startsWith(`${id}_`))![1].user_data;
  expect(argument('Node1')).toBe(argument('Node0'));
  expect(argument('Node2')).toBe(argument('Node0'));
  expect(new Set(['Node0', 'Big', 'Noble'].map(argument)).size).toBe(3);
  const texts = servers(json).map(([, s]) => userDataOf(json, s));
  expect(texts[0]).toMatch(/^#cloud-config\n/);
  expect(texts.filter((t) => t.includes("GPU_NODE_EXPECTED_GPUS='2'"))).toHaveLength(1);
  expectStackPassesChecks(withQuotaInDir(dir));
});

test('one image lookup per image name in the stack', () => {
  const { json } = fleet();
  const lookups = Object.values<any>(json.data.openstack_images_image_v2).map((d) => d.name).sort();
  expect(lookups).toEqual([
    'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image',
    'Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image',
  ]);
});

// A command with both of Terraform's template openers, which bash uses for itself.
const TEMPLATE_LOOKALIKE = 'printf "%s %s\\n" "%{literal}" "${HOME}"';

/** One node whose recipe runs TEMPLATE_LOOKALIKE. */
const lookalikeNode = (recipeName: string) => synthToDir((app) => {
  const stack = new TerraformStack(app, 'lookalike');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  new GpuNode(stack, 'Node', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.fromName(stack, 'Net', 'alice-net'),
    sshFrom: [Peer.ipv4('10.0.0.0/8')], recipe: new GpuRecipe({ name: recipeName, commands: [TEMPLATE_LOOKALIKE] }),
  });
  return stack;
});

test('the local escapes both template openers, so Terraform evaluates neither', () => {
  const { json } = lookalikeNode('escape');
  const [local] = Object.entries<string>(json.locals).filter(([name]) => name.startsWith('user_data_')).map(([, text]) => text);
  expect(local).toContain('"%%{literal}" "$${HOME}"');
  expect(local).not.toMatch(/(^|[^%])%\{|(^|[^$])\$\{/);
});

const noTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0 ? undefined
  : 'terraform is not on PATH (the base64gzip round trip needs `terraform console`)';

testUnless(noTerraform, 'Terraform\'s base64gzip of the local gives back the cloud-config, within the size we measured', () => {
  const { json } = lookalikeNode('shared');
  const [, server] = servers(json)[0];
  const localName = /local\.(\w+)/.exec(server.user_data)![1];
  const recipeText = new GpuRecipe({ name: 'shared', commands: [TEMPLATE_LOOKALIKE] })._render({
    expectedGpus: 1, expectedModel: GpuModel.RTX_2080_TI, lifetimeHours: 168, recipeKey: 'x',
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-console-'));
  fs.writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals: { [localName]: json.locals[localName] } }));
  const r = spawnSync('terraform', ['console'], {
    cwd: dir, input: `base64gzip(local.${localName})\n`, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' },
  });
  expect(r.status).toBe(0);
  const sent = JSON.parse(r.stdout.trim()) as string;
  const text = zlib.gunzipSync(Buffer.from(sent, 'base64')).toString('utf8');
  // Terraform read `$${` as `${`: the node gets the scripts as written.
  expect(text).toMatch(/^#cloud-config\n/);
  expect(text).toContain('"${GPU_NODE_ROOT:=}"');
  expect(text).not.toContain('$${');
  expect(text).not.toContain('%%{');
  expect(text).toContain(TEMPLATE_LOOKALIKE);
  // Go's gzip and Node's zlib differ a little; the margin in GpuRecipe covers it.
  expect(Math.abs(sent.length - recipeText.base64Bytes)).toBeLessThan(1024);
});
