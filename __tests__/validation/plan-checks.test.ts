// Checks that only the plan can make, because the value is the cloud's: the root volume against
// the image's min_disk (Nova refuses a smaller volume only after the plan, at create).
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, NodeImage, openstack } from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir, tfPlan } from '../support/checks';

const build = (image = NodeImage.fromName('Ubuntu 22.04 big')) => (app: App) => {
  const s = new TerraformStack(app, 'mindisk');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  new GpuNode(s, 'Node', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'), image, rootVolumeSizeGiB: 20,
  });
  return s;
};

const serverOf = (json: any) => Object.values<any>(json.resource.openstack_compute_instance_v2)[0];

test('a root volume gets a precondition against the image min_disk', () => {
  const { dir, json } = synthToDir(build());
  const [pre] = serverOf(json).lifecycle.precondition;
  expect(pre.condition).toMatch(/^\$\{\(20 >= data\.openstack_images_image_v2\.\S+\.min_disk_gb\)\}$/);
  expect(pre.error_message).toContain("mindisk/Node: rootVolumeSizeGiB must be at least the image's min_disk, got 20 GiB");
  expectStackPassesChecks(withQuotaInDir(dir));
});

test('an image by id has no min_disk to compare: no precondition', () => {
  const { json } = synthToDir(build(NodeImage.fromId('0f0e0d0c-0b0a-0908-0706-050403020100')));
  expect(serverOf(json).lifecycle.precondition).toBeUndefined();
});

test('a plan with an image of min_disk 40 fails with the path, the size and the fix', () => {
  const { dir } = synthToDir(build());
  withQuotaInDir(dir);
  const file = path.join(dir, 'cdk.tf.json');
  // The stand-in provider answers 0 for every number; give the image a real min_disk instead.
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/data\.openstack_images_image_v2\.[\w-]+\.min_disk_gb/g, '40'));
  const plan = tfPlan(dir);
  if (plan.skipped) return;
  expect(plan.status).not.toBe(0);
  expect(plan.output.replace(/\s*│\s*/g, ' ')).toMatch(/mindisk\/Node: rootVolumeSizeGiB must be at least the image's min_disk, got 20 GiB; raise rootVolumeSizeGiB/);
});
