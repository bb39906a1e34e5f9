import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import {
  CloudProfile,
  GpuFlavor,
  GpuModel,
  GpuNetwork,
  GpuRecipe,
  ImageVisibility,
  NodeImage,
  openstack,
  SnapshotImage,
  SnapshotImageProps,
  UbuntuRelease,
} from '../../src';
import { sharedCheckGap, testUnless } from '../support/skip';
import { expectStackPassesChecks, REFERENCE_SCHEMA, synthToDir, userDataOf } from '../support/checks';

const recipe = () => new GpuRecipe({ name: 'torch', packages: ['python3-pip'] });
const BASE_KEY = 'name:Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image';

class BakeStack extends TerraformStack {
  public readonly snapshot: SnapshotImage;
  constructor(scope: Construct, id: string, options: Partial<SnapshotImageProps> = {}) {
    super(scope, id);
    new openstack.provider.OpenstackProvider(this, 'openstack', { cloud: 'openstack' });
    this.snapshot = new SnapshotImage(this, 'Image', {
      recipe: recipe(),
      baseImage: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04),
      flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1),
      network: GpuNetwork.fromName(this, 'Net', 'alice-net'),
      ...options,
    });
  }
}

const synth = (options: Partial<SnapshotImageProps> = {}) => {
  const stack = new BakeStack(Testing.app(), 'bake', options);
  return { stack, json: JSON.parse(Testing.synth(stack)) };
};
const entry = (json: any, type: string, prefix: string) => {
  const found = Object.entries<any>(json.resource[type]).find(([k]) => k.startsWith(prefix));
  if (!found) throw new Error(`no ${type} ${prefix}`);
  return { name: `${type}.${found[0]}`, config: found[1] };
};

describe('SnapshotImage', () => {
  test('looks up images already baked for the recipe key', () => {
    const { stack, json } = synth();
    expect(stack.snapshot.recipeKey).toBe(recipe()._key(BASE_KEY));
    const lookup = Object.values<any>(json.data.openstack_images_image_ids_v2)[0];
    expect(lookup).toEqual({ tags: [`gpu-node-recipe-${stack.snapshot.recipeKey}`], sort: 'created_at:desc' });
  });

  test('boots one builder only while no image has the key, with the recipe sealing it for the snapshot', () => {
    const { stack, json } = synth();
    const builder = entry(json, 'openstack_compute_instance_v2', 'Image_Builder').config;
    expect(builder.count).toMatch(/^\$\{\(length\(data\.openstack_images_image_ids_v2\.Image_ExistingImages_\w+\.ids\) >= 1\) \? 0 : 1\}$/);
    expect(builder.flavor_name).toBe('g1-1x2060.medium');
    expect(builder.name).toBe(`torch-${stack.snapshot.recipeKey}-builder`);
    expect(builder.image_id).toMatch(/^\$\{data\.openstack_images_image_v2\.NodeImages_ByName-[0-9a-f]{12}_\w+\.id\}$/);
    expect(builder.network).toEqual([{ uuid: expect.stringMatching(/^\$\{data\.openstack_networking_network_v2\.Net_Network_\w+\.id\}$/) }]);
    // The subnet reference orders the builder after the subnet (and a router interface); no port
    // is made, as Nova would leave it behind when the bake deletes the server.
    expect(builder.metadata.gpu_node_subnet).toMatch(/^\$\{data\.openstack_networking_subnet_v2\.Net_Subnet_\w+\.id\}$/);
    expect(json.resource.openstack_networking_port_v2).toBeUndefined();
    expect(userDataOf(json, builder)).toMatch(/GPU_NODE_STEPS='[a-z -]* ready-check seal-snapshot'\n/);
    expect(userDataOf(json, builder)).toContain(`GPU_NODE_RECIPE_KEY='${stack.snapshot.recipeKey}'`);
    expect(json.resource.openstack_networking_floatingip_v2).toBeUndefined();
  });

  test('a terraform_data provisioner runs the bake script with the key, after the builder, as often as the builder exists', () => {
    const { stack, json } = synth({ visibility: ImageVisibility.SHARED, timeoutMinutes: 90, tags: ['lab'] });
    const builder = entry(json, 'openstack_compute_instance_v2', 'Image_Builder');
    const bake = entry(json, 'terraform_data', 'Image_Bake').config;
    const key = stack.snapshot.recipeKey;
    expect(bake.count).toBe(builder.config.count);
    expect(bake.depends_on).toEqual([builder.name]);
    expect(bake.triggers_replace).toEqual({ recipeKey: key, builder: `\${${builder.name}[count.index].id}` });
    const [exec] = bake.provisioner;
    expect(exec['local-exec'].command).toMatch(/^bash assets\/GpuNodeWatchScript\/[0-9A-F]+\/gpu-node-watch\.sh bake$/);
    const env = exec['local-exec'].environment;
    expect(env).toMatchObject({
      OS_CLOUD: 'openstack',
      BAKE_SERVER_ID: `\${${builder.name}[count.index].id}`,
      BAKE_IMAGE_NAME: `torch-${key}`,
      BAKE_RECIPE_KEY: key,
      BAKE_RECIPE_NAME: 'torch',
      BAKE_TAGS: 'lab',
      BAKE_VISIBILITY: 'shared',
      BAKE_TIMEOUT: '5400',
      BAKE_POLL_INTERVAL: '30',
      WATCH_CONTRACT: expect.stringMatching(/^assets\/GpuNodeContract\/[0-9A-F]+\/gpu-node-contract\.sh$/),
    });
    expect(env.BAKE_PROPERTIES.split('\n')).toEqual(expect.arrayContaining([
      `gpu_node_base_image=${BASE_KEY}`, 'gpu_node_recipe_name=torch', 'gpu_node_driver=580-open', 'gpu_node_cuda=13.0',
      'gpu_node_container_toolkit=latest', 'gpu_node_gpus=1xRTX_2060_SUPER',
    ]));
  });

  test('ships the bake script as an asset of the stack', () => {
    const { dir, json } = synthToDir((app) => new BakeStack(app, 'asset'));
    const command = entry(json, 'terraform_data', 'Image_Bake').config.provisioner[0]['local-exec'].command;
    const script = path.join(dir, command.replace(/^bash /, '').replace(/ bake$/, ''));
    expect(fs.readFileSync(script, 'utf8')).toBe(fs.readFileSync(path.join(__dirname, '../../assets/gpu-node-watch.sh'), 'utf8'));
  });

  test('nodes elsewhere find the bake by the same key', () => {
    const { stack } = synth();
    const image = NodeImage.fromRecipe(recipe(), { baseImage: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04) });
    const app = Testing.app();
    expect(image.bind(new TerraformStack(app, 'workers'), CloudProfile.HFD_NETLAB).recipeKey).toBe(stack.snapshot.recipeKey);
    expect(stack.snapshot.image.bind(new TerraformStack(app, 'more'), CloudProfile.HFD_NETLAB).recipeKey).toBe(stack.snapshot.recipeKey);
  });

  test('passes the provider schema checks and terraform plan', () => {
    const { dir } = synthToDir((app) => new BakeStack(app, 'plan'));
    expectStackPassesChecks(dir);
  });

  test.each<[string, Partial<SnapshotImageProps>, RegExp]>([
    ['a timeout too short', { timeoutMinutes: 1 }, /^bake\/Image: timeoutMinutes must be a whole number from 5 to 1440.*got 1$/],
    ['a bad clouds.yaml entry', { cloud: 'my cloud' }, /^bake\/Image: cloud must be a clouds.yaml entry name such as 'openstack', got 'my cloud'$/],
    ['a bad tag', { tags: ['a,b'] }, /^bake\/Image: tags entry must be 1-255 characters without ',', '\/' or control characters, got 'a,b'\. Rename the tag$/],
    ['a bad poll interval', { pollIntervalSeconds: 0 }, /^bake\/Image: pollIntervalSeconds must be a whole number from 1 to 600, got 0$/],
    ['an impossible builder flavor', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 4) }, /^bake\/Image: gpuCount must be 1 or 2 for RTX_2080_TI/],
  ])('rejects %s', (_what, options, message) => {
    expect(() => synth(options)).toThrow(message);
  });
});

describe('SnapshotImage end to end with terraform apply (stand-in provider and openstack CLI)', () => {
  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);

  testUnless(why, 'apply runs the bake script, which snapshots the builder with the key and deletes it', () => {
    const { dir, stack } = synthToDir((app) => new BakeStack(app, 'apply', { pollIntervalSeconds: 1 }));
    const key = stack.snapshot.recipeKey;
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-os-'));
    const bin = path.join(fake, 'bin');
    fs.mkdirSync(bin);
    fs.copyFileSync(path.join(__dirname, '../assets/fixtures/fake-openstack.sh'), path.join(bin, 'openstack'));
    fs.chmodSync(path.join(bin, 'openstack'), 0o755);
    fs.writeFileSync(path.join(fake, 'console.1'), `[  OK  ] Started cloud-final\nGPU-NODE-READY recipe=torch key=${key} gpus=1 model="NVIDIA GeForce RTX 2060 SUPER" driver=570.195.03\nGPU-NODE-SEALING recipe=torch\nGPU-NODE-SEALED recipe=torch key=${key}\n`);
    fs.writeFileSync(path.join(fake, 'status'), 'SHUTOFF\n');
    const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--timeout', '240', dir, 'apply'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_OS_DIR: fake, CHECKPOINT_DISABLE: '1' },
    });
    const output = `${r.stdout}${r.stderr}`;
    expect(output).toMatch(/Apply complete! Resources: \d+ added/);
    expect(output).toContain(`bake: image 11111111-2222-3333-4444-555555555555 torch-${key} ready for recipe key ${key}`);
    const calls = fs.readFileSync(path.join(fake, 'calls.log'), 'utf8');
    expect(calls).toMatch(new RegExp(`server\\timage\\tcreate\\t--name\\ttorch-${key}\\t`));
    expect(calls).toContain(`--property\tgpu_node_recipe_key=${key}`);
    expect(calls).toMatch(/server\tdelete/);
  });
});
