// Plan-time preflight with the real provider against the mini-cloud: flavor lookups and limits.
import { TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer } from '../../src';
import { synthToDir } from '../support/checks';
import { tf, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;

function planOf(flavor: GpuFlavor) {
  const { dir } = synthToDir((app) => {
    const stack = new TerraformStack(app, 'cloud-preflight');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuNode(stack, 'Node', { flavor, network });
    return stack;
  });
  const init = tf(t, dir, 'init', '-input=false', '-no-color');
  expect(init.output).toMatch(/terraform-provider-openstack\/openstack v3\.4\.0/);
  expect(init.status).toBe(0);
  return tf(t, dir, 'plan', '-input=false', '-no-color', '-lock=false');
}

describe('preflight on the mini-cloud (real provider v3.4.0)', () => {
  cloudTest('a HFD NetLab flavor whose alias matches the GPUs plans cleanly', () => {
    const plan = planOf(GpuFlavor.of(GpuModel.RTX_2080_TI, 1));
    expect(plan.output).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy/);
    if (plan.status !== 0) console.log(plan.output.slice(-3000));
    expect(plan.status).toBe(0);
  });

  cloudTest('a flavor that does not exist fails the plan at its lookup, whose address names the flavor and the node', () => {
    const plan = planOf(GpuFlavor.named('g1-9x9090.medium', { model: GpuModel.RTX_2080_TI, gpuCount: 1 }));
    expect(plan.status).not.toBe(0);
    expect(plan.output).toMatch(/Error: Your query returned no results/);
    expect(plan.output).toMatch(/with data\.openstack_compute_flavor_v2\.flavor_g1-9x9090_medium_of_cloud-preflight_Node_[0-9a-f]{8},/);
  });

  cloudTest('a flavor whose PCI alias passes through another GPU count fails with our message', () => {
    const plan = planOf(GpuFlavor.named('g1-bad-alias.medium', { model: GpuModel.RTX_2080_TI, gpuCount: 2 }));
    expect(plan.status).not.toBe(0);
    expect(plan.output.replace(/\s+/g, ' ')).toMatch(/flavor g1-bad-alias\.medium passes through 3 GPUs .*but the node expects 2/);
  });

  cloudTest('a node the project quota has no room for fails the plan with our message and the numbers', () => {
    // Nova's default quota: 51200 MiB of RAM; g1-4x2060.medium has 65536 MiB (seed.py).
    const plan = planOf(GpuFlavor.of(GpuModel.RTX_2060_SUPER, 4));
    expect(plan.status).not.toBe(0);
    expect(plan.output.replace(/\s+/g, ' ')).toMatch(
      /cloud-preflight\/Node \(flavor g1-4x2060\.medium\): the project's quota has no room for these new servers of this stack: .*RAM \d+ \+ 65536 of 51200 MiB/);
  });
});
