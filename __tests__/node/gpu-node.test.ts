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
  GpuNode,
  GpuNodeProps,
  GpuRecipe,
  CudaToolkit,
  KeyPair,
  NodeImage,
  openstack,
  Peer,
  PowerState,
  UbuntuRelease,
  VolumeRemovalPolicy,
} from '../../src';
import { withQuota, withQuotaInDir } from '../support/cloud-facts';
import { sharedCheckGap, testUnless } from '../support/skip';
import { expectStackPassesChecks, REFERENCE_SCHEMA, synthToDir, userDataOf } from '../support/checks';

const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEt0p8HSWJ6KOqnUYcQqYlRx4fvGj9aaXNvVyCPkNkMW alice@laptop';

type NodeOptions = Omit<GpuNodeProps, 'network' | 'flavor'> & Partial<Pick<GpuNodeProps, 'flavor'>>;

class NodeStack extends TerraformStack {
  public readonly gpuNode: GpuNode;
  constructor(scope: Construct, id: string, options: NodeOptions = {}, existingNetwork = false) {
    super(scope, id);
    new openstack.provider.OpenstackProvider(this, 'openstack', { cloud: 'openstack' });
    const network = existingNetwork
      ? GpuNetwork.forUser(this, 'Net', 'alice')
      // The network is made for the node's cloud, as a node must agree with its network.
      : new GpuNetwork(this, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')], cloudProfile: options.cloudProfile });
    this.gpuNode = new GpuNode(this, 'Node', {
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2),
      network,
      keyPair: new KeyPair(this, 'Key', { publicKey: PUBLIC_KEY, privateKeyHint: '~/.ssh/id_ed25519' }),
      ...options,
    });
  }
}

const synth = (options: NodeOptions = {}, existingNetwork = false) => {
  const app = Testing.app();
  const stack = new NodeStack(app, 'test', options, existingNetwork);
  return { stack, json: JSON.parse(Testing.synth(stack)) };
};
const only = (json: any, type: string) => {
  const all = Object.values<any>(json.resource?.[type] ?? {});
  expect(all).toHaveLength(1);
  return all[0];
};
const outputs = (json: any) => Object.fromEntries(Object.entries<any>(json.output).map(([k, v]) => [k.replace(/^Node_|_[0-9A-F]{8}$/g, ''), v]));

describe('GpuNode', () => {
  test('boots the flavor the profile names for the GPU model and count, with the recipe as user_data', () => {
    const { json } = synth();
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.flavor_name).toBe('g1-2x2080.medium');
    expect(server.image_id).toMatch(/^\$\{data\.openstack_images_image_v2\.NodeImages_ByName-[0-9a-f]{12}_\w+\.id\}$/);
    // A reference: the server waits for its keypair.
    expect(server.key_pair).toMatch(/^\$\{openstack_compute_keypair_v2\.Key_\w+\.name\}$/);
    expect(server.power_state).toBe('active');
    expect(userDataOf(json, server)).toMatch(/^#cloud-config\n/);
    expect(userDataOf(json, server)).toContain("GPU_NODE_EXPECTED_GPUS='2'");
    expect(userDataOf(json, server)).toContain("GPU_NODE_EXPECTED_MODEL='RTX 2080 Ti'");
    // Terraform's template syntax in the scripts is escaped.
    expect(userDataOf(json, server)).not.toMatch(/(^|[^$])\$\{GPU_NODE/);
    expect(userDataOf(json, server)).toContain('$${GPU_NODE_ROOT');
    const image = Object.values<any>(json.data.openstack_images_image_v2)[0];
    expect(image).toEqual({ name: 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image', most_recent: true });
  });

  test('attaches through its own port in the network, with the network security group', () => {
    const { json } = synth();
    const port = only(json, 'openstack_networking_port_v2');
    expect(port.network_id).toMatch(/^\$\{openstack_networking_network_v2\.Net_\w+\.id\}$/);
    // Through the router interface: the port (and its floating IP) wait for the router.
    expect(port.fixed_ip).toEqual([{ subnet_id: expect.stringMatching(/^\$\{openstack_networking_router_interface_v2\.Net_RouterInterface_\w+\.subnet_id\}$/) }]);
    expect(port.security_group_ids).toEqual([expect.stringMatching(/^\$\{openstack_networking_secgroup_v2\.Net_SecurityGroup_\w+\.id\}$/)]);
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.network).toEqual([{ port: expect.stringMatching(/^\$\{openstack_networking_port_v2\.Node_Port_\w+\.id\}$/) }]);
  });

  test('gets a floating IP from the profile pool, associated with its port, and outputs the ssh command', () => {
    const { json } = synth();
    expect(only(json, 'openstack_networking_floatingip_v2').pool).toBe('public');
    const assoc = only(json, 'openstack_networking_floatingip_associate_v2');
    expect(assoc.floating_ip).toMatch(/^\$\{openstack_networking_floatingip_v2\.Node_FloatingIp_\w+\.address\}$/);
    expect(assoc.port_id).toMatch(/^\$\{openstack_networking_port_v2\.Node_Port_\w+\.id\}$/);
    const out = outputs(json);
    expect(out.SshCommand.value).toMatch(/^ssh -i ~\/\.ssh\/id_ed25519 ubuntu@\$\{openstack_networking_floatingip_v2\.Node_FloatingIp_\w+\.address\}$/);
    expect(out.FixedIp.value).toMatch(/^\$\{element\(openstack_networking_port_v2\.Node_Port_\w+\.all_fixed_ips, 0\)\}$/);
    expect(out.InstanceId.value).toMatch(/^\$\{openstack_compute_instance_v2\.Node_\w+\.id\}$/);
    expect(out.FloatingIpAddress).toBeDefined();
  });

  test('without a floating IP, ssh goes to the fixed IP', () => {
    const { json } = synth({ floatingIp: false });
    expect(json.resource.openstack_networking_floatingip_v2).toBeUndefined();
    expect(outputs(json).SshCommand.value).toMatch(/ubuntu@\$\{element\(openstack_networking_port_v2\.Node_Port_\w+\.all_fixed_ips, 0\)\}$/);
  });

  test('on an existing network it makes its own security group with SSH only from sshFrom', () => {
    const { json } = synth({ sshFrom: [Peer.ipv4('192.0.2.0/24')] }, true);
    expect(Object.values<any>(json.data.openstack_networking_network_v2)[0].name).toBe('alice-net');
    expect(json.resource.openstack_networking_network_v2).toBeUndefined();
    const rules = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2);
    const ssh = rules.filter((r) => r.port_range_min === 22);
    expect(ssh).toEqual([expect.objectContaining({ remote_ip_prefix: '192.0.2.0/24', direction: 'ingress', protocol: 'tcp' })]);
    expect(rules.some((r) => r.remote_ip_prefix === '0.0.0.0/0')).toBe(false);
  });

  test('protects a running node: recipe, image, keypair, flavor, root disk, metadata and tag edits wait for a rollout', () => {
    const server = only(synth().json, 'openstack_compute_instance_v2');
    // Metadata and tags too: Nova refuses their update on a shelved node (409).
    const ignored = ['user_data', 'image_id', 'image_name', 'key_pair', 'block_device', 'metadata', 'tags', 'flavor_name', 'flavor_id'];
    expect(server.lifecycle.ignore_changes).toEqual(ignored);
    // With replaceOnChange, edits replace the node through the rollout trigger: never the
    // provider's in-place rebuild that wipes the root disk under the same server.
    const { json } = synth({ replaceOnChange: true, rootVolumeSizeGiB: 40 });
    const replacing = only(json, 'openstack_compute_instance_v2');
    expect(replacing.lifecycle.ignore_changes).toEqual(ignored);
    const rollout = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_Rollout'))!;
    expect(rollout[1].triggers_replace).toEqual({
      token: '', image: replacing.block_device[0].uuid, userData: expect.stringMatching(/^[0-9a-f]{64}$/), keyPair: replacing.key_pair,
      rootVolumeSizeGiB: '40', flavor: 'g1-2x2080.medium',
    });
    expect(replacing.lifecycle.replace_triggered_by).toEqual([`terraform_data.${rollout[0]}`]);
  });

  test('a node without a token has its rollout trigger from the start, so that its first token replaces it', () => {
    // replace_triggered_by ignores the creation of the trigger (Terraform's EvaluateReplaceTriggeredBy):
    // a trigger made together with the first token would replace nothing (the cloud tier found it).
    const { json } = synth();
    const server = only(json, 'openstack_compute_instance_v2');
    const rollout = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_Rollout'))!;
    expect(rollout[1].triggers_replace).toEqual({ token: '' });
    expect(server.lifecycle.replace_triggered_by).toEqual([`terraform_data.${rollout[0]}`]);
    // No clock trigger without a token, as in 0.1: an upgraded node keeps its start time and ShelveAt.
    const started = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_StartedAt'))![1];
    expect(started.triggers_replace).toBeUndefined();
  });

  test('a rollout token replaces the node on purpose', () => {
    const { json } = synth({ rolloutToken: '2026-11-25' });
    const server = only(json, 'openstack_compute_instance_v2');
    const rollout = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_Rollout'))!;
    expect(rollout[1].triggers_replace).toEqual({ token: '2026-11-25' });
    expect(server.lifecycle.replace_triggered_by).toEqual([`terraform_data.${rollout[0]}`]);
    // A rollout also starts the lifetime clock anew.
    const started = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_StartedAt'))![1];
    expect(started.triggers_replace).toEqual({ rollout: `\${terraform_data.${rollout[0]}.id}` });
  });

  test('boots from a volume of the given size', () => {
    const server = only(synth({ rootVolumeSizeGiB: 80 }).json, 'openstack_compute_instance_v2');
    expect(server.image_id).toBeUndefined();
    expect(server.block_device).toEqual([expect.objectContaining({
      source_type: 'image', destination_type: 'volume', volume_size: 80, boot_index: 0, delete_on_termination: true,
    })]);
    expect(synth({ rootVolumeSizeGiB: 80 }).json.removed).toBeUndefined();
  });

  test('root volume first, then the data volume', () => {
    const server = only(synth({ rootVolumeSizeGiB: 80, dataVolume: { sizeGiB: 10 } }).json, 'openstack_compute_instance_v2');
    expect(server.block_device.map((d: any) => [d.source_type, d.destination_type, d.boot_index, d.delete_on_termination]))
      .toEqual([['image', 'volume', 0, true], ['volume', 'volume', -1, false]]);
  });

  test('a data volume is attached through the server block_device (shelve-safe) and retained by default', () => {
    const { json } = synth({ dataVolume: { sizeGiB: 100 } });
    const volume = only(json, 'openstack_blockstorage_volume_v3');
    expect(volume).toMatchObject({ size: 100, name: 'test-Node-data', lifecycle: { prevent_destroy: true } });
    // No attach resource: its delete fails with 409 on a shelved server; a server delete detaches.
    expect(json.resource.openstack_compute_volume_attach_v2).toBeUndefined();
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.image_id).toMatch(/^\$\{data\.openstack_images_image_v2\.NodeImages_ByName-[0-9a-f]{12}_\w+\.id\}$/);
    expect(server.block_device).toEqual([
      { uuid: server.image_id, source_type: 'image', destination_type: 'local', boot_index: 0, delete_on_termination: true },
      { uuid: expect.stringMatching(/^\$\{openstack_blockstorage_volume_v3\.Node_DataVolume_\w+\.id\}$/),
        source_type: 'volume', destination_type: 'volume', boot_index: -1, delete_on_termination: false },
    ]);
    // 0.1's attachment is forgotten, not destroyed (which would detach the volume).
    expect(json.removed).toEqual([{ from: expect.stringMatching(/^openstack_compute_volume_attach_v2\.Node_DataVolumeAttachment_[0-9A-F]{8}$/),
      lifecycle: { destroy: false } }]);
    expect(json.terraform.required_version).toBe('>= 1.7');
    const destroyable = only(synth({ dataVolume: { sizeGiB: 10, removalPolicy: VolumeRemovalPolicy.DESTROY } }).json, 'openstack_blockstorage_volume_v3');
    expect(destroyable.lifecycle.prevent_destroy).toBe(false);
  });

  test.each([
    [PowerState.RUNNING, 'active'],
    [PowerState.STOPPED, 'shutoff'],
    [PowerState.SHELVED, 'shelved_offloaded'],
    [PowerState.PAUSED, 'paused'],
  ])('power state %s maps to the provider value %s', (state, value) => {
    expect(only(synth({ powerState: state }).json, 'openstack_compute_instance_v2').power_state).toBe(value);
  });

  test('records its start and shelve time and the lifetime in metadata, and outputs the shelve time', () => {
    const { json } = synth({ lifetimeHours: 72 });
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.metadata).toMatchObject({
      gpu_node_lifetime_hours: '72',
      gpu_node_gpus: '2xRTX_2080_TI',
      gpu_node_recipe_name: 'gpu-base',
      gpu_node_recipe_key: expect.stringMatching(/^[0-9a-f]{16}$/),
      gpu_node_started_at: expect.stringMatching(/^\$\{terraform_data\.Node_StartedAt_\w+\.output\.time\}$/),
      gpu_node_shelve_at: expect.stringMatching(/^\$\{timeadd\(terraform_data\.Node_StartedAt_\w+\.output\.time, "72h"\)\}$/),
    });
    const started = Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_StartedAt'))![1];
    expect(started).toMatchObject({ input: { time: '${timestamp()}' }, lifecycle: { ignore_changes: ['input'] } });
    expect(userDataOf(json, server)).toContain("GPU_NODE_LIFETIME_HOURS='72'");
    expect(outputs(json).ShelveAt.value).toBe(server.metadata.gpu_node_shelve_at);
  });

  test('the lifetime defaults to the profile limit (7 days on HFD) and is absent without one', () => {
    expect(only(synth().json, 'openstack_compute_instance_v2').metadata.gpu_node_lifetime_hours).toBe('168');
    const noLimit = CloudProfile.custom({
      name: 'lab', flavors: CloudProfile.HFD_NETLAB.flavors, ubuntuImages: CloudProfile.HFD_NETLAB.ubuntuImages, externalNetworkName: 'ext',
    });
    const { json } = synth({ cloudProfile: noLimit });
    expect(only(json, 'openstack_compute_instance_v2').metadata.gpu_node_lifetime_hours).toBeUndefined();
    expect(outputs(json).ShelveAt).toBeUndefined();
  });

  test('metadata, tags, name and availability zone pass through', () => {
    const server = only(synth({ nodeName: 'alice-gpu', metadata: { owner: 'alice' }, tags: ['course-ml'], availabilityZone: 'nova' }).json,
      'openstack_compute_instance_v2');
    expect(server).toMatchObject({ name: 'alice-gpu', availability_zone: 'nova', tags: ['course-ml'], metadata: expect.objectContaining({ owner: 'alice' }) });
  });

  test('the server is a public escape hatch, `resource`, also the node\'s default child', () => {
    const { stack, json } = synth();
    stack.gpuNode.resource.addOverride('config_drive', true);
    expect(stack.gpuNode.resource.terraformResourceType).toBe('openstack_compute_instance_v2');
    expect(stack.gpuNode.node.defaultChild).toBe(stack.gpuNode.resource);
    // The old name stays as a deprecated alias of the same object.
    expect(stack.gpuNode.instance).toBe(stack.gpuNode.resource);
    expect(JSON.parse(Testing.synth(stack)).resource.openstack_compute_instance_v2).not.toEqual(json.resource.openstack_compute_instance_v2);
  });

  test('a node from a recipe image boots the newest bake or else the base image', () => {
    const recipe = new GpuRecipe({ name: 'worker' });
    const { stack, json } = synth({ recipe, image: NodeImage.fromRecipe(recipe, { baseImage: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04) }) });
    const lookup = Object.values<any>(json.data.openstack_images_image_ids_v2)[0];
    // By tag: Nova copies properties (not tags) into snapshots of nodes, e.g. when the cloud shelves one.
    expect(lookup).toEqual({ tags: [`gpu-node-recipe-${stack.gpuNode.recipeKey}`], sort: 'created_at:desc' });
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.image_id).toMatch(/^\$\{\(length\(data\.openstack_images_image_ids_v2\.NodeImages_Baked-[0-9a-f]{16}_\w+\.ids\) >= 1\) \? element\(data\.openstack_images_image_ids_v2\.NodeImages_Baked-[0-9a-f]{16}_\w+\.ids, 0\) : data\.openstack_images_image_v2\.NodeImages_ByName-[0-9a-f]{12}_\w+\.id\}$/);
    expect(server.metadata.gpu_node_recipe_key).toBe(recipe._key('name:Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image'));
  });

  test('every synthesized variant passes the provider schema checks and terraform plan', () => {
    const recipe = new GpuRecipe({ name: 'worker' });
    const { dir } = synthToDir((app) => new NodeStack(app, 'full', {
      dataVolume: { sizeGiB: 20 },
      rootVolumeSizeGiB: 50,
      rolloutToken: 'v1',
      powerState: PowerState.SHELVED,
      waitForReady: true,
      recipe,
      image: NodeImage.fromRecipe(recipe, { baseImage: NodeImage.fromName('Ubuntu 24.04') }),
    }));
    expectStackPassesChecks(withQuotaInDir(dir));
    const { dir: existing } = synthToDir((app) => new NodeStack(app, 'existing', { sshFrom: [Peer.ipv4('10.0.0.0/8')], floatingIp: false }, true));
    expectStackPassesChecks(withQuotaInDir(existing));
  });
});

describe('GpuNode bad input', () => {
  test.each<[string, NodeOptions, RegExp]>([
    ['an impossible GPU count', { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 3) },
      /^test\/Node: gpuCount must be 1, 2 or 4 for RTX_2060_SUPER on cloud profile 'hfd-netlab', got 3$/],
    ['a lifetime over the cloud limit', { lifetimeHours: 200 },
      /^test\/Node: lifetimeHours 200 exceeds the 168 h \(7 days\) that cloud profile 'hfd-netlab' allows.*use at most 168$/],
    ['a zero lifetime', { lifetimeHours: 0 }, /^test\/Node: lifetimeHours must be a whole number from 1 to 87600 \(10 years; the shelve time is computed with Terraform's timeadd\), got 0$/],
    ['a warning longer than the lifetime', { lifetimeHours: 24, lifetimeWarningHours: 30 },
      /^test\/Node: lifetimeWarningHours must be a whole number from 0 to below the lifetime \(24 h\), got 30$/],
    ['a tiny root volume', { rootVolumeSizeGiB: 5 }, /^test\/Node: rootVolumeSizeGiB must be a whole number from 10 to 16384.*got 5$/],
    ['a fractional data volume', { dataVolume: { sizeGiB: 1.5 } }, /^test\/Node: dataVolume.sizeGiB must be a whole number from 1 to 65536, got 1.5$/],
    ['a bad tag', { tags: ['a/b'] }, /^test\/Node: tags entry must be 1-60 characters without ',', '\/' or control characters, got 'a\/b'\. Shorten or rename the tag$/],
    ['a bad node name', { nodeName: ' spaced ' }, /^test\/Node: nodeName must be 1-255 printable characters.*got ' spaced '$/],
    ['sshFrom with a network security group', { sshFrom: [Peer.ipv4('10.0.0.0/8')] },
      /^test\/Node: sshFrom applies only to a security group the node makes itself.*give sshFrom to the GpuNetwork/],
    ['a GPU that needs proprietary modules', { flavor: GpuFlavor.named('gpu.v100', { model: GpuModel.V100, gpuCount: 1 }), recipe: new GpuRecipe({ cuda: CudaToolkit.version('12.9') }) },
      /^test\/Node: V100 \(Volta\) needs the proprietary kernel modules.*KernelModules.PROPRIETARY/],
    ['a Volta GPU with the default recipe (CUDA 13.0)', { flavor: GpuFlavor.named('gpu.v100', { model: GpuModel.V100, gpuCount: 1 }) },
      /^test\/Node: recipe\.cuda must be CUDA 12\.x for V100 \(Volta\).*CudaToolkit\.version\('12\.9'\)/],
    ['an Ubuntu release the profile lacks', {
      image: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04),
      cloudProfile: CloudProfile.custom({ name: 'lab', flavors: CloudProfile.HFD_NETLAB.flavors, externalNetworkName: 'ext' }),
    }, /^test\/Node: cloud profile 'lab' names no image for Ubuntu 24.04 \(it has: none\); add one with withUbuntuImage\(\)/],
  ])('%s', (_what, options, message) => {
    expect(() => synth(options)).toThrow(message);
  });

  test('no keypair is allowed but warned about', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'warn');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const node = new GpuNode(stack, 'Node', {
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1),
      network: new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] }),
    });
    const warnings = node.node.metadata.filter((m) => /warn/.test(m.type)).map((m) => m.data);
    expect(warnings).toEqual(['warn/Node: no keyPair given, so nobody can log in with SSH']);
  });

  test('a flavor its profile does not list gets an info line at synth with what the profile offers; a listed one none', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'info');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const infos = (node: GpuNode) => node.node.metadata.filter((m) => /info/.test(m.type)).map((m) => m.data);
    const named = new GpuNode(stack, 'Named', { flavor: GpuFlavor.named('g1-1x2080.large', { gpuCount: 1 }), network });
    expect(infos(named)).toEqual([
      "info/Named: flavor 'g1-1x2080.large' is not in cloud profile 'hfd-netlab' (it offers g1-1x2060.medium, g1-2x2060.medium, g1-4x2060.medium, " +
      'g1-1x2080.medium, g1-2x2080.medium). If the plan fails with "Your query returned no results" at ' +
      'data.openstack_compute_flavor_v2.flavor_g1-1x2080_large_of_..., the cloud has no such flavor either: check `openstack flavor list`, ' +
      'or use GpuFlavor.of() with the profile of this cloud']);
    expect(infos(new GpuNode(stack, 'Listed', { flavor: GpuFlavor.named('g1-1x2080.medium'), network }))).toEqual([]);
  });
});

describe('GpuNode changes after deploy (terraform apply, then plan, with the stand-in provider)', () => {
  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);

  /** Synthesizes into `dir` without outputs (the stand-in leaves all_fixed_ips empty, which element() refuses). */
  const synthInto = (dir: string, options: NodeOptions) => {
    const { dir: out, json } = synthToDir((app) => new NodeStack(app, 'deployed', options));
    delete json.output;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json)));
    fs.rmSync(out, { recursive: true, force: true });
  };
  const tf = (dir: string, state: string, command: string) => spawnSync('bash',
    [tfCheck, '--schema', REFERENCE_SCHEMA, '--state', state, '--timeout', '240', dir, command], { encoding: 'utf8' });

  testUnless(why, 'an edited recipe changes nothing; a new rollout token replaces the server and restarts its clock', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-deploy-'));
    const dir = path.join(work, 'stack');
    const state = path.join(work, 'terraform.tfstate');
    synthInto(dir, { rolloutToken: 'v1', dataVolume: { sizeGiB: 10 } });
    expect(tf(dir, state, 'apply').stdout).toMatch(/Apply complete!/);

    synthInto(dir, { rolloutToken: 'v1', dataVolume: { sizeGiB: 10 }, recipe: new GpuRecipe({ name: 'edited', packages: ['htop'] }) });
    expect(tf(dir, state, 'plan').stdout).toMatch(/No changes\./);

    synthInto(dir, { rolloutToken: 'v2', dataVolume: { sizeGiB: 10 } });
    const plan = tf(dir, state, 'plan').stdout;
    expect(plan).toMatch(/openstack_compute_instance_v2\.Node_\w+ will be replaced/);
    expect(plan).toMatch(/terraform_data\.Node_StartedAt_\w+ must be replaced/);
    expect(plan).not.toMatch(/openstack_blockstorage_volume_v3\.\w+ (must|will) be (replaced|destroyed)/);
    fs.rmSync(work, { recursive: true, force: true });
  });

  testUnless(why, 'the first rollout token of a node deployed without one replaces the server and restarts its clock', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-first-token-'));
    const dir = path.join(work, 'stack');
    const state = path.join(work, 'terraform.tfstate');
    synthInto(dir, { dataVolume: { sizeGiB: 10 } });
    expect(tf(dir, state, 'apply').stdout).toMatch(/Apply complete!/);
    synthInto(dir, { dataVolume: { sizeGiB: 10 }, rolloutToken: 'v1' });
    const plan = tf(dir, state, 'plan').stdout;
    expect(plan).toMatch(/openstack_compute_instance_v2\.Node_\w+ will be replaced/);
    expect(plan).toMatch(/terraform_data\.Node_StartedAt_\w+ must be replaced/);
    expect(plan).not.toMatch(/openstack_blockstorage_volume_v3\.\w+ (must|will) be (replaced|destroyed)/);
    fs.rmSync(work, { recursive: true, force: true });
  });
});

describe('GpuNode with a data volume: apply, then destroy (terraform with the stand-in provider)', () => {
  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);
  const tf = (dir: string, state: string, ...args: string[]) => {
    const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--state', state, '--timeout', '240', dir, ...args], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };
  const deploy = (options: NodeOptions) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-volume-'));
    const { dir: out, json } = synthToDir((app) => new NodeStack(app, 'volume', options));
    delete json.output; // the stand-in leaves all_fixed_ips empty, which element() refuses
    const dir = path.join(work, 'stack');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json)));
    fs.rmSync(out, { recursive: true, force: true });
    return { work, dir, state: path.join(work, 'terraform.tfstate') };
  };

  testUnless(why, 'a DESTROY volume goes with the stack; no detach step exists that a shelved server could refuse', () => {
    const { work, dir, state } = deploy({ dataVolume: { sizeGiB: 10, removalPolicy: VolumeRemovalPolicy.DESTROY }, powerState: PowerState.SHELVED });
    const applied = tf(dir, state, 'apply');
    expect(applied.output).toMatch(/Apply complete! Resources: \d+ added/);
    const resources = JSON.parse(fs.readFileSync(state, 'utf8')).resources.map((r: any) => r.type);
    expect(resources).toContain('openstack_blockstorage_volume_v3');
    expect(resources).not.toContain('openstack_compute_volume_attach_v2');
    const destroyed = tf(dir, state, 'apply', '--', '-destroy');
    expect(destroyed.output).toMatch(/Apply complete! Resources: 0 added, 0 changed, \d+ destroyed\./);
    // The server goes before its volume (the server delete detaches it).
    const serverGone = destroyed.output.search(/openstack_compute_instance_v2\.Node_\w+: Destruction complete/);
    expect(serverGone).toBeGreaterThan(0);
    expect(serverGone).toBeLessThan(destroyed.output.search(/openstack_blockstorage_volume_v3\.Node_DataVolume_\w+: Destroying/));
    fs.rmSync(work, { recursive: true, force: true });
  });

  testUnless(why, 'a RETAIN volume stops the destroy with prevent_destroy; a rollout replaces the server and keeps the volume', () => {
    const { work, dir, state } = deploy({ dataVolume: { sizeGiB: 10 }, rolloutToken: 'v1' });
    expect(tf(dir, state, 'apply').output).toMatch(/Apply complete!/);
    const destroyed = tf(dir, state, 'apply', '--', '-destroy');
    expect(destroyed.status).not.toBe(0);
    expect(destroyed.output).toContain('Error: Instance cannot be destroyed');
    expect(destroyed.output).toMatch(/Resource openstack_blockstorage_volume_v3\.Node_DataVolume_\w+ has\s+lifecycle\.prevent_destroy set/);
    const next = deploy({ dataVolume: { sizeGiB: 10 }, rolloutToken: 'v2' });
    fs.copyFileSync(path.join(next.dir, 'cdk.tf.json'), path.join(dir, 'cdk.tf.json'));
    const plan = tf(dir, state, 'plan');
    expect(plan.output).toMatch(/openstack_compute_instance_v2\.Node_\w+ will be replaced/);
    expect(plan.output).not.toMatch(/openstack_blockstorage_volume_v3\.\w+ (must|will) be (replaced|destroyed)/);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(next.work, { recursive: true, force: true });
  });
});

describe('GpuNode references across stacks', () => {
  test('keypair, network and security group from another stack are references, and the node stack depends on it', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cross-'));
    const app = Testing.stubVersion(new (require('cdktf').App)({ outdir, stackTraces: false }));
    const shared = new TerraformStack(app, 'shared');
    new openstack.provider.OpenstackProvider(shared, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(shared, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const key = new KeyPair(shared, 'Key', { publicKey: PUBLIC_KEY });
    const nodes = new TerraformStack(app, 'nodes');
    new openstack.provider.OpenstackProvider(nodes, 'openstack', { cloud: 'openstack' });
    new GpuNode(nodes, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, keyPair: key });
    app.synth();
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'nodes', 'cdk.tf.json'), 'utf8'));
    const server = only(json, 'openstack_compute_instance_v2');
    expect(server.key_pair).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-shared\.outputs\.[\w-]+\}$/);
    expect(only(json, 'openstack_networking_port_v2').network_id).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-shared/);
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.stacks.nodes.dependencies).toEqual(['shared']);
    fs.rmSync(outdir, { recursive: true, force: true });
  });
});

describe('GpuNode waitForReady', () => {
  const watcher = (json: any) => Object.entries<any>(json.resource.terraform_data).find(([k]) => k.startsWith('Node_WaitForReady'));

  test('is off by default', () => {
    expect(watcher(synth().json)).toBeUndefined();
  });

  test('a terraform_data runs the shared watcher script in ready mode for this server and power state', () => {
    const { json } = synth({ waitForReady: { timeoutMinutes: 30, cloud: 'lab' }, recipe: new GpuRecipe({ name: 'torch' }) });
    const [, data] = watcher(json)!;
    const server = Object.keys(json.resource.openstack_compute_instance_v2)[0];
    expect(data.triggers_replace).toEqual({ server: `\${openstack_compute_instance_v2.${server}.id}`, powerState: 'active' });
    const exec = data.provisioner[0]['local-exec'];
    expect(exec.command).toMatch(/^bash assets\/GpuNodeWatchScript\/[0-9A-F]+\/gpu-node-watch\.sh ready$/);
    expect(exec.environment).toEqual({
      OS_CLOUD: 'lab', WATCH_SERVER_ID: `\${openstack_compute_instance_v2.${server}.id}`, WATCH_RECIPE_NAME: 'torch',
      WATCH_NODE: 'test/Node', WATCH_EXPECT_STATE: 'active', WATCH_TIMEOUT: '1800', WATCH_POLL_INTERVAL: '20',
      WATCH_CONTRACT: expect.stringMatching(/^assets\/GpuNodeContract\/[0-9A-F]+\/gpu-node-contract\.sh$/),
    });
  });

  test.each<[string, NodeOptions, RegExp]>([
    ['a timeout of 0', { waitForReady: { timeoutMinutes: 0 } }, /^test\/Node: waitForReady.timeoutMinutes must be a whole number from 1 to 1440.*got 0$/],
    ['a bad cloud name', { waitForReady: { cloud: 'a b' } }, /^test\/Node: waitForReady.cloud must be a clouds.yaml entry name/],
  ])('rejects %s', (_what, options, message) => {
    expect(() => synth(options)).toThrow(message);
  });

  describe('terraform apply with the stand-in provider and openstack CLI', () => {
    const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
    const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
    const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);
    const apply = (consoleText: string) => {
      const { dir, json } = synthToDir((app) => new NodeStack(app, 'ready', { waitForReady: { pollIntervalSeconds: 1, timeoutMinutes: 1 } }));
      delete json.output;
      fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json)));
      const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-os-'));
      const bin = path.join(fake, 'bin');
      fs.mkdirSync(bin);
      fs.copyFileSync(path.join(__dirname, '../assets/fixtures/fake-openstack.sh'), path.join(bin, 'openstack'));
      fs.chmodSync(path.join(bin, 'openstack'), 0o755);
      fs.writeFileSync(path.join(fake, 'console.1'), consoleText);
      const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--timeout', '240', dir, 'apply'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_OS_DIR: fake, CHECKPOINT_DISABLE: '1' },
      });
      fs.rmSync(fake, { recursive: true, force: true });
      return `${r.stdout}${r.stderr}`;
    };

    testUnless(why, 'the deploy returns once the ready line is on the console, and fails with the failure line', () => {
      const boot = '[    0.000000] Linux version 5.15.0-127-generic\n';
      const ok = apply(`${boot}GPU-NODE-READY recipe=gpu-base key=k gpus=2 model="NVIDIA GeForce RTX 2080 Ti" driver=570.195.03\n`);
      expect(ok).toMatch(/Apply complete! Resources: \d+ added/);
      // The elapsed time depends on the machine's load: only its shape is fixed.
      expect(ok.replace(/\[0m\d\ds\]/g, '[0mNNs]')).toContain('wait-ready: [0mNNs] ready/Node is ready: GPU-NODE-READY recipe=gpu-base');
      const failed = apply(`${boot}GPU-NODE-FAILED recipe=gpu-base step=ready-check reason="expected 2 GPUs, nvidia-smi lists 1"\n`);
      expect(failed).toContain('wait-ready: ERROR: ready/Node reported a failure: GPU-NODE-FAILED recipe=gpu-base step=ready-check reason="expected 2 GPUs, nvidia-smi lists 1"');
      expect(failed).toMatch(/Error: local-exec provisioner error/);
    });
  });
});

describe('GpuNode preflight (plan-time checks)', () => {
  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);
  const entries = (json: any, block: string, type: string) => Object.entries<any>(json[block]?.[type] ?? {});

  test('looks up the flavor with a GPU postcondition, the project limits, and checks the quota for new servers', () => {
    const { json } = synth();
    const [[, flavor]] = entries(json, 'data', 'openstack_compute_flavor_v2');
    expect(flavor.name).toBe('g1-2x2080.medium');
    const [post] = flavor.lifecycle.postcondition;
    expect(post.condition).toContain('lookup(self.extra_specs, "pci_passthrough:alias", "")');
    expect(post.condition).toMatch(/== 2\}$/);
    expect(post.error_message).toMatch(/^test\/Node: flavor g1-2x2080\.medium passes through \$\{.+\} GPUs .+ but the node expects 2 x RTX_2080_TI;/);
    // Empty: no tenant_id, so Nova answers with the token's own project (no admin policy).
    expect(json.data.openstack_compute_limits_v2).toEqual({ GpuNodePreflightLimits: expect.objectContaining({ project_id: '' }) });
    const marker = entries(json, 'resource', 'terraform_data').find(([k]) => k.startsWith('Node_PreflightCreated'))!;
    expect(marker[1]).toMatchObject({ input: { at: '${plantimestamp()}' }, lifecycle: { ignore_changes: ['input'] },
      depends_on: [expect.stringMatching(/^openstack_compute_instance_v2\.Node_\w+$/)] });
    // One quota check for the stack, fed by one line per node (its path and its marker), by flavor.
    expect(entries(json, 'resource', 'terraform_data').filter(([k]) => k.includes('Preflight_'))).toEqual([]);
    const check = json.resource.terraform_data.GpuNodePreflightQuota;
    expect(check.lifecycle.precondition[0].condition).toBe('${local.GpuNodePreflightFits}');
    expect(check.lifecycle.precondition[0].error_message).toMatch(/^\$\{join\(", ", flatten\(\[for gi, g in local\.GpuNodePreflightNew : .*\}: the project's quota has no room for these new servers of this stack: /);
    expect(json.locals.GpuNodePreflightNodes).toEqual({ f0: { 'test/Node': `\${terraform_data.${marker[0]}.input.at}` } });
    expect(json.locals.GpuNodePreflightFlavorSizes.f0).toMatchObject({ name: 'g1-2x2080.medium' });
    expect(json.locals.GpuNodePreflightNew).toContain('if at == plantimestamp()');
    expect(json.terraform.required_version).toBe('>= 1.5');
  });

  test('nodes that expect the same of a flavor share one lookup, whose message names them all', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'shared');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const flavor = GpuFlavor.of(GpuModel.RTX_2080_TI, 2);
    new GpuNode(stack, 'A', { flavor, network });
    new GpuNode(stack, 'B', { flavor, network });
    // One name, two promises (a flavor the profile does not know): a lookup and a check each.
    new GpuNode(stack, 'C', { flavor: GpuFlavor.named('lab-gpu.large', { model: GpuModel.RTX_2080_TI, gpuCount: 1 }), network });
    new GpuNode(stack, 'E', { flavor: GpuFlavor.named('lab-gpu.large', { model: GpuModel.RTX_2080_TI, gpuCount: 2 }), network });
    new GpuNode(stack, 'D', { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, preflight: { gpus: false } });
    const json = JSON.parse(Testing.synth(stack));
    const lookups = entries(json, 'data', 'openstack_compute_flavor_v2');
    expect(lookups).toHaveLength(4);
    // The address Terraform prints with a lookup's error names the flavor as written and its first node.
    expect(lookups.map(([k]) => k).sort()).toEqual([/^flavor_g1-1x2060_medium_of_shared_D_[0-9a-f]{8}$/, /^flavor_g1-2x2080_medium_of_shared_A_[0-9a-f]{8}$/,
      /^flavor_lab-gpu_large_of_shared_C_[0-9a-f]{8}$/, /^flavor_lab-gpu_large_of_shared_E_[0-9a-f]{8}$/].map((r) => expect.stringMatching(r)));
    const message = (name: string, n: number) => lookups.find(([, v]) => v.name === name && v.lifecycle?.postcondition[0].condition.endsWith(`== ${n}}`))![1]
      .lifecycle.postcondition[0].error_message as string;
    expect(message('g1-2x2080.medium', 2)).toMatch(/^shared\/A, shared\/B: flavor g1-2x2080\.medium passes through .* but these nodes expect 2 x RTX_2080_TI;/);
    expect(message('lab-gpu.large', 1)).toMatch(/^shared\/C: flavor lab-gpu\.large passes through .* but the node expects 1 x RTX_2080_TI;/);
    expect(message('lab-gpu.large', 2)).toMatch(/^shared\/E: flavor lab-gpu\.large passes through .* but the node expects 2 x RTX_2080_TI;/);
    expect(lookups.find(([, v]) => v.name === 'g1-1x2060.medium')![1].lifecycle).toBeUndefined();
    // The quota check still counts every node, each through its lookup.
    const nodes = json.locals.GpuNodePreflightNodes as { [key: string]: { [path: string]: string } };
    expect(Object.values(nodes).flatMap((paths) => Object.keys(paths)).sort()).toEqual(['shared/A', 'shared/B', 'shared/C', 'shared/D', 'shared/E']);
    const sizes = json.locals.GpuNodePreflightFlavorSizes as { [key: string]: { ram: string } };
    expect(Object.keys(sizes).sort()).toEqual(Object.keys(nodes).sort());
    expect(new Set(Object.values(sizes).map((f) => f.ram.match(/data\.openstack_compute_flavor_v2\.(\S+)\.ram/)![1])).size).toBe(4);
    expect(nodes[Object.keys(sizes).find((k) => sizes[k].ram.includes(lookups.find(([, v]) => v.name === 'g1-1x2060.medium')![0]))!])
      .toEqual({ 'shared/D': expect.stringMatching(/^\$\{terraform_data\.D_PreflightCreated_\w+\.input\.at\}$/) });
  });

  test('opt-out per node, or per check', () => {
    const off = synth({ preflight: false }).json;
    expect(off.data.openstack_compute_flavor_v2).toBeUndefined();
    expect(off.data.openstack_compute_limits_v2).toBeUndefined();
    const noQuota = synth({ preflight: { quota: false } }).json;
    expect(noQuota.data.openstack_compute_limits_v2).toBeUndefined();
    expect(entries(noQuota, 'data', 'openstack_compute_flavor_v2')[0][1].lifecycle.postcondition).toHaveLength(1);
    const noGpus = synth({ preflight: { gpus: false } }).json;
    expect(entries(noGpus, 'data', 'openstack_compute_flavor_v2')[0][1].lifecycle).toBeUndefined();
  });

  testUnless(hasTerraform ? undefined : 'terraform is not on PATH', 'the alias count is the sum of the counts in pci_passthrough:alias (terraform console)', () => {
    const { json } = synth();
    const condition: string = entries(json, 'data', 'openstack_compute_flavor_v2')[0][1].lifecycle.postcondition[0].condition;
    const expr = condition.slice(2, -1);
    const evaluate = (alias?: string) => {
      const specs = alias === undefined ? '{}' : `{"pci_passthrough:alias" = "${alias}"}`;
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-console-'));
      const r = spawnSync('terraform', ['console'], { cwd, input: expr.split('self.extra_specs').join(specs) + '\n', encoding: 'utf8',
        env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
      fs.rmSync(cwd, { recursive: true, force: true });
      return r.stdout.trim();
    };
    expect(evaluate('rtx2080:2')).toBe('true');
    expect(evaluate('rtx2080:1,rtx2080b:1')).toBe('true');
    expect(evaluate('rtx2080:1')).toBe('false');
    expect(evaluate('rtx2080:4')).toBe('false');
    expect(evaluate()).toBe('true'); // the cloud shows no alias: nothing to check
  });

  testUnless(why, 'terraform plan fails before anything is created when the quota has no room, naming node, flavor and numbers', () => {
    // The stand-in reports a quota of 0 instances.
    const { dir } = synthToDir((app) => new NodeStack(app, 'noroom'));
    const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--timeout', '240', dir, 'plan'], { encoding: 'utf8' });
    const output = `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ');
    expect(r.status).not.toBe(0);
    expect(output).toContain('Error: Resource precondition failed');
    expect(output).toContain("noroom/Node (flavor g1-2x2080.medium): the project's quota has no room for these new servers of this stack: " +
      'instances 0 used + 1 new of 0');
  });

  testUnless(why, 'one quota check for the stack names every new node that does not fit, and only those', () => {
    const { dir, json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'tworoom');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      // Two flavors: the check takes the nodes by flavor (A and C first), then by path.
      new GpuNode(stack, 'A', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), network });
      new GpuNode(stack, 'B', { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network });
      new GpuNode(stack, 'C', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), network });
      return stack;
    });
    delete json.output;
    // Room for two more instances: the third new server does not fit.
    fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json, {
      max_total_instances: 3, total_instances_used: 1, max_total_cores: -1, total_cores_used: 0, max_total_ram_size: -1, total_ram_used: 0,
    })));
    const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--timeout', '240', dir, 'plan'], { encoding: 'utf8' });
    const output = `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ');
    expect(r.status).not.toBe(0);
    expect(output.match(/Error: Resource precondition failed/g)).toHaveLength(1);
    expect(output).toContain("tworoom/B (flavor g1-1x2060.medium): the project's quota has no room for these new servers of this stack: " +
      'instances 1 used + 3 new of 3');
    expect(output).not.toMatch(/tworoom\/[AC] \(flavor/);
  });

  testUnless(why, 'a full quota stops new servers, but not the plans after they exist', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
    const dir = path.join(work, 'stack');
    const state = path.join(work, 'terraform.tfstate');
    fs.mkdirSync(dir);
    const write = (quota: any) => {
      const { dir: out, json } = synthToDir((app) => new NodeStack(app, 'quota'));
      delete json.output;
      fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json, quota)));
      fs.rmSync(out, { recursive: true, force: true });
    };
    const tf = (command: string) => {
      const r = spawnSync('bash', [tfCheck, '--schema', REFERENCE_SCHEMA, '--state', state, '--timeout', '240', dir, command], { encoding: 'utf8' });
      return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ') };
    };
    const quota = { max_total_instances: 1, total_instances_used: 1, max_total_cores: 80, total_cores_used: 0, max_total_ram_size: -1, total_ram_used: 0 };
    write(quota);
    const refused = tf('plan');
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('instances 1 used + 1 new of 1');
    write({ ...quota, total_instances_used: 0 });
    expect(tf('apply').output).toMatch(/Apply complete! Resources: \d+ added/);
    // The node now uses the last instance; later plans do not count it as new.
    write(quota);
    const later = tf('plan');
    expect(later.output).toContain('No changes.');
    expect(later.status).toBe(0);
    fs.rmSync(work, { recursive: true, force: true });
  });
});
