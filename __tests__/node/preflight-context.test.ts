// Planning offline, as a user's CI does (README "Planning offline"): against a mock or test provider
// the quota lookup reads 0 and the flavor has no PCI alias, so the preflight fails every plan. The
// app context key `cdktf-openstack-gpu:preflight: false` turns it off for the whole app.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { GpuFleet, GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer } from '../../src';
import { tfPlan } from '../support/checks';

function synth(context: { [key: string]: unknown }) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-preflight-ctx-'));
  const app = Testing.stubVersion(new App({ outdir, stackTraces: false, context }));
  const stack = new TerraformStack(app, 'offline');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.32.0.0/16')] });
  // preflight: true on purpose: the app's context wins, so a CI plan needs no edit of the stacks.
  new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, preflight: true });
  new GpuFleet(stack, 'Fleet', { flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network, count: 2 });
  app.synth();
  const dir = path.join(outdir, 'stacks', 'offline');
  return { dir, json: JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) };
}

const lookups = (json: any) => ({
  limits: Object.keys(json.data?.openstack_compute_limits_v2 ?? {}).length,
  flavors: Object.keys(json.data?.openstack_compute_flavor_v2 ?? {}).length,
  markers: Object.keys(json.resource?.terraform_data ?? {}).filter((k) => k.includes('PreflightCreated')).length,
});

test.each([[false], ['false']])('context cdktf-openstack-gpu:preflight = %p leaves out every lookup and check', (setting) => {
  const { json } = synth({ 'cdktf-openstack-gpu:preflight': setting });
  expect(lookups(json)).toEqual({ limits: 0, flavors: 0, markers: 0 });
  expect(JSON.stringify(json)).not.toMatch(/precondition|postcondition/);
});

test('without the context key the preflight is there (the default a deploy needs)', () => {
  const { json } = synth({});
  expect(lookups(json)).toEqual({ limits: 1, flavors: 2, markers: 3 });
});

test('a plan against the stand-in provider passes with the key and fails on the quota without it', () => {
  const offline = tfPlan(synth({ 'cdktf-openstack-gpu:preflight': false }).dir);
  if (offline.skipped) return;
  expect(offline.output).toMatch(/Plan: \d+ to add, 0 to change, 0 to destroy\./);
  expect(offline.status).toBe(0);
  const withPreflight = tfPlan(synth({}).dir);
  expect(withPreflight.status).not.toBe(0);
  expect(withPreflight.output).toMatch(/quota/i);
});
