// User strings reach the JSON as literals: Terraform must never evaluate a `${...}` or `%{...}`
// that a user typed into a name, tag, metadata value, description or image property.
// The payload reads a file that does not exist, so an evaluated one fails the plan.
import { App, TerraformStack } from 'cdktf';
import {
  CloudProfile, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, NodeImage, openstack, SecurityGroup, SnapshotImage, VolumeRemovalPolicy,
} from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir, tfPlan } from '../support/checks';

const PAYLOAD = '${file("no-such-file")}';
const DIRECTIVE = '%{if true}evaluated%{endif}';
const ESCAPED = '$${file("no-such-file")}';

function build(app: App): TerraformStack {
  const s = new TerraformStack(app, 'escape');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  const profile = CloudProfile.HFD_NETLAB.withExternalNetwork(`ext${PAYLOAD}`);
  const net = new GpuNetwork(s, 'Net', { networkName: `net${PAYLOAD}`, cloudProfile: profile });
  const sg = new SecurityGroup(s, 'Sg', { securityGroupName: `sg${PAYLOAD}`, description: `desc ${PAYLOAD} ${DIRECTIVE}` });
  new GpuNode(s, 'Node', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: net, cloudProfile: profile, securityGroups: [sg],
    nodeName: `node${PAYLOAD}`, metadata: { team: `a ${PAYLOAD}`, note: DIRECTIVE }, tags: [`tag${PAYLOAD}`],
    availabilityZone: `zone${PAYLOAD}`, image: NodeImage.fromName(`Ubuntu 22.04 ${PAYLOAD}`),
    dataVolume: { sizeGiB: 1, volumeName: `vol${PAYLOAD}`, volumeType: `type${PAYLOAD}`, removalPolicy: VolumeRemovalPolicy.DESTROY },
    waitForReady: true,
  });
  new SnapshotImage(s, 'Image', {
    recipe: new GpuRecipe({ name: 'esc' }), flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network: GpuNetwork.forUser(s, 'User', 'alice'),
    baseImage: NodeImage.fromName(`Ubuntu 22.04 base ${PAYLOAD}`), imageName: `img${PAYLOAD}`, tags: [`itag${PAYLOAD}`],
  });
  return s;
}

const first = (json: any, type: string, kind = 'resource') => Object.values<any>(json[kind][type])[0];

describe('template syntax in user strings', () => {
  const { dir, json } = synthToDir(build);

  // One expectation per field: the JSON holds the escaped text, which Terraform reads back as the literal.
  test.each<[string, (j: any) => unknown]>([
    ['server name', (j) => first(j, 'openstack_compute_instance_v2').name],
    ['server metadata value', (j) => Object.values<any>(j.resource.openstack_compute_instance_v2).find((v) => v.metadata?.team).metadata.team],
    ['server tag', (j) => Object.values<any>(j.resource.openstack_compute_instance_v2).find((v) => v.metadata?.team).tags[0]],
    ['availability zone', (j) => Object.values<any>(j.resource.openstack_compute_instance_v2).find((v) => v.metadata?.team).availability_zone],
    ['port name', (j) => first(j, 'openstack_networking_port_v2').name],
    ['floating IP description', (j) => first(j, 'openstack_networking_floatingip_v2').description],
    ['floating IP pool (profile external network)', (j) => first(j, 'openstack_networking_floatingip_v2').pool],
    ['security group name', (j) => Object.values<any>(j.resource.openstack_networking_secgroup_v2).find((g) => g.description?.startsWith('desc')).name],
    ['security group description', (j) => Object.values<any>(j.resource.openstack_networking_secgroup_v2).find((g) => g.description?.startsWith('desc')).description],
    ['network name', (j) => first(j, 'openstack_networking_network_v2').name],
    ['subnet name', (j) => first(j, 'openstack_networking_subnet_v2').name],
    ['router name', (j) => first(j, 'openstack_networking_router_v2').name],
    ['external network lookup', (j) => Object.values<any>(j.data.openstack_networking_network_v2).find((d) => d.external).name],
    ['volume name', (j) => first(j, 'openstack_blockstorage_volume_v3').name],
    ['volume type', (j) => first(j, 'openstack_blockstorage_volume_v3').volume_type],
    ['volume description', (j) => first(j, 'openstack_blockstorage_volume_v3').description],
    ['image name lookup', (j) => Object.values<any>(j.data.openstack_images_image_v2).find((d) => !d.name.includes('base')).name],
    ['builder name', (j) => Object.values<any>(j.resource.openstack_compute_instance_v2).find((v) => v.count).name],
    ['bake image name (provisioner environment)', (j) => Object.values<any>(j.resource.terraform_data).find((d) => d.count).provisioner[0]['local-exec'].environment.BAKE_IMAGE_NAME],
    ['bake image properties (provisioner environment)', (j) => Object.values<any>(j.resource.terraform_data).find((d) => d.count).provisioner[0]['local-exec'].environment.BAKE_PROPERTIES],
    ['bake tags (provisioner environment)', (j) => Object.values<any>(j.resource.terraform_data).find((d) => d.count).provisioner[0]['local-exec'].environment.BAKE_TAGS],
    ['image name output', (j) => Object.entries<any>(j.output).find(([k]) => k.includes('ImageName'))![1].value],
    ['ssh command output', (j) => Object.entries<any>(j.output).find(([k]) => k.includes('SshCommand'))![1].description],
  ])('%s is escaped', (_field, pick) => {
    const value = pick(json);
    expect(typeof value).toBe('string');
    if (_field === 'ssh command output') {
      expect(value).toContain('$${file(');
    } else {
      expect(value).toContain(ESCAPED);
    }
    expect(String(value)).not.toMatch(/(^|[^$])\$\{file\(/);
  });

  test('the metadata directive stays text', () => {
    const server = Object.values<any>(json.resource.openstack_compute_instance_v2).find((v) => v.metadata?.team);
    expect(server.metadata.note).toBe('%%{if true}evaluated%%{endif}');
  });

  test('a real terraform plan shows the literal strings and reads no file', () => {
    expectStackPassesChecks(withQuotaInDir(dir));
    const plan = tfPlan(dir);
    if (!plan.skipped) {
      expect(plan.output).toContain('node${file(\\"no-such-file\\")}');
      expect(plan.output).toContain('%{if true}evaluated%{endif}');
      expect(plan.output).not.toMatch(/no file exists|Invalid function argument/);
    }
  });
});
