// The user's week on the mini-cloud with the real provider v3.4.0: what the user (edits that remove
// nodes, a fleet scaled down, a stack destroyed) and the cloud (the weekly shelve, whatever the power
// state) do to what the user owns. Each step checks Nova's and Cinder's state afterwards.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFleet, GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer, PowerState, VolumeRemovalPolicy } from '../../src';
import { RETAINED_VOLUMES_CONTEXT } from '../../src/core/retained-volumes';
import { PROJECT_ROOT } from '../support/checks';
import { Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;
const run = Date.now().toString(36);
const flavor = GpuFlavor.of(GpuModel.RTX_2080_TI, 1);

/** Synthesizes as `cdktf synth` in a project whose retained-volumes.json is the deployment's. */
function synthIn(d: Deployment, build: (app: App) => TerraformStack): any {
  const saved = process.env.CDKTF_CONTEXT_JSON;
  process.env.CDKTF_CONTEXT_JSON = JSON.stringify({ [RETAINED_VOLUMES_CONTEXT]: path.join(d.dir, 'retained-volumes.json') });
  try {
    return d.synth(build);
  } finally {
    process.env.CDKTF_CONTEXT_JSON = saved;
  }
}

function servers(d: Deployment): { [name: string]: string } {
  return Object.fromEntries(d.resources('openstack_compute_instance_v2').map((r) => [r.values.name, r.values.id]));
}

describe('what users own survives removing it from the code (real provider v3.4.0)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'retain');
  const made: string[] = [];
  interface Shape { readonly nodes: string[]; readonly scratch: boolean; readonly fleet: number }
  function stackOf(s: Shape) {
    return (app: App) => {
      const stack = new TerraformStack(app, 'cloud-retain');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      for (const id of s.nodes) {
        new GpuNode(stack, id, { flavor, network, nodeName: `tier-${run}-${id.toLowerCase()}`, dataVolume: { sizeGiB: 1 } });
      }
      if (s.scratch) {
        new GpuNode(stack, 'Scratch', { flavor, network, nodeName: `tier-${run}-scratch`,
          dataVolume: { sizeGiB: 1, removalPolicy: VolumeRemovalPolicy.DESTROY } });
      }
      if (s.fleet > 0) new GpuFleet(stack, 'Fleet', { flavor, network, count: s.fleet, fleetName: `tier-${run}-f`, dataVolume: { sizeGiB: 1 } });
      return stack;
    };
  }
  const volumes = (name: string) => inspect(t, 'volumes-named', name) as Array<{ id: string; status: string; attached_to: string[] }>;

  afterAll(() => {
    if (t.skipped) return;
    // Whatever a failed step left: drop prevent_destroy'd volumes from the state, destroy, delete every volume made.
    for (const r of d.resources('openstack_blockstorage_volume_v3')) d.tf('state', 'rm', r.address);
    d.destroy();
    for (const name of made) {
      for (const v of volumes(name)) inspect(t, 'delete-volume', v.id);
    }
    console.log(`user-week retain terraform timings: ${d.timings.join(', ')}`);
  });

  // The tier's project has room for three of these nodes (RAM 51200 MiB), so the edits come in turns.
  cloudTest('deploy: two RETAIN nodes and one DESTROY node; the record lists the RETAIN ones', () => {
    synthIn(d, stackOf({ nodes: ['A', 'B'], scratch: true, fleet: 0 }));
    d.applyOk();
    for (const n of ['a', 'b', 'scratch', 'f-1', 'f-2']) made.push(`tier-${run}-${n}-data`);
    for (const n of ['a', 'b', 'scratch']) expect(volumes(`tier-${run}-${n}-data`)).toEqual([expect.objectContaining({ status: 'in-use' })]);
    const record = JSON.parse(fs.readFileSync(path.join(d.dir, 'retained-volumes.json'), 'utf8'));
    expect(Object.values(record.stacks['cloud-retain']).map((e: any) => e.volumeName).sort()).toEqual([`tier-${run}-a-data`, `tier-${run}-b-data`]);
  });

  cloudTest('delete node B and the DESTROY node from the code: B\'s volume stays (available), the DESTROY one goes, A is untouched', () => {
    const before = servers(d);
    synthIn(d, stackOf({ nodes: ['A'], scratch: false, fleet: 0 }));
    const out = d.applyOk();
    // Terraform says what it forgets instead of destroying.
    expect(out).toMatch(/will no longer be managed by Terraform/);
    expect(volumes(`tier-${run}-b-data`)).toEqual([expect.objectContaining({ status: 'available', attached_to: [] })]);
    expect(volumes(`tier-${run}-scratch-data`)).toEqual([]);
    expect(volumes(`tier-${run}-a-data`)).toEqual([expect.objectContaining({ status: 'in-use', attached_to: [before[`tier-${run}-a`]] })]);
    expect(inspect(t, 'server', before[`tier-${run}-b`])).toEqual({});
    expect(inspect(t, 'server', before[`tier-${run}-a`]).status).toBe('ACTIVE');
    // A second deploy of the same code changes nothing.
    expect(d.plan().changes).toEqual([]);
  });

  cloudTest('a fleet of 2 scaled down to 1: the second member\'s volume stays (available)', () => {
    synthIn(d, stackOf({ nodes: ['A'], scratch: false, fleet: 2 }));
    d.applyOk();
    expect(volumes(`tier-${run}-f-2-data`)).toEqual([expect.objectContaining({ status: 'in-use' })]);
    synthIn(d, stackOf({ nodes: ['A'], scratch: false, fleet: 1 }));
    d.applyOk();
    expect(volumes(`tier-${run}-f-2-data`)).toEqual([expect.objectContaining({ status: 'available', attached_to: [] })]);
    expect(volumes(`tier-${run}-f-1-data`)).toEqual([expect.objectContaining({ status: 'in-use' })]);
  });

  cloudTest('destroy of the stack stops at the RETAIN volume before deleting anything', () => {
    const before = servers(d);
    const refused = d.destroy();
    expect(refused.status).not.toBe(0);
    expect(refused.output.replace(/\s+/g, ' ')).toMatch(/prevent_destroy/);
    for (const id of Object.values(before)) expect(inspect(t, 'server', id).status).toBe('ACTIVE');
  });

  cloudTest('remove every node from the code, deploy, destroy: every RETAIN volume is kept, the stack is gone', () => {
    synthIn(d, stackOf({ nodes: [], scratch: false, fleet: 0 }));
    d.applyOk();
    const destroyed = d.destroy();
    expect(destroyed.status).toBe(0);
    for (const n of ['a', 'b', 'f-1', 'f-2']) {
      expect(volumes(`tier-${run}-${n}-data`)).toEqual([expect.objectContaining({ status: 'available', attached_to: [] })]);
    }
  });
});

describe('every power state survives the cloud\'s weekly shelve (real provider v3.4.0)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'power');
  function stackOf(stopped: PowerState, paused: PowerState) {
    return (app: App) => {
      const stack = new TerraformStack(app, 'cloud-power');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      new GpuNode(stack, 'Stopped', { flavor, network, nodeName: `tier-${run}-stopped`, powerState: stopped, preflight: false });
      new GpuNode(stack, 'Paused', { flavor, network, nodeName: `tier-${run}-paused`, powerState: paused, preflight: false });
      return stack;
    };
  }
  const ids = () => servers(d);
  const status = (which: string) => inspect(t, 'server', ids()[`tier-${run}-${which}`]).status;

  afterAll(() => {
    if (t.skipped) return;
    d.destroy();
    console.log(`user-week power terraform timings: ${d.timings.join(', ')}`);
  });

  cloudTest('RUNNING, then STOPPED and PAUSED: SHUTOFF and PAUSED in Nova', () => {
    d.synth(stackOf(PowerState.RUNNING, PowerState.RUNNING));
    d.applyOk();
    d.synth(stackOf(PowerState.STOPPED, PowerState.PAUSED));
    d.applyOk();
    expect(status('stopped')).toBe('SHUTOFF');
    expect(status('paused')).toBe('PAUSED');
  });

  cloudTest('the cloud shelves both; a deploy with no code change succeeds, changes nothing, and they stay shelved', () => {
    const before = ids();
    for (const id of Object.values(before)) inspect(t, 'shelve-server', id);
    d.synth(stackOf(PowerState.STOPPED, PowerState.PAUSED));
    const r = d.apply();
    if (r.status !== 0) console.log(r.output.slice(-4000));
    // Nova's refusals as the provider prints them (an id may contain the digits 409).
    expect(r.output).not.toMatch(/got 409|HTTP 409|Conflict|is not ready/);
    expect(r.status).toBe(0);
    expect(ids()).toEqual(before);
    expect(status('stopped')).toBe('SHELVED_OFFLOADED');
    expect(status('paused')).toBe('SHELVED_OFFLOADED');
    // And again: no change planned, so every later deploy succeeds too.
    expect(d.plan().status).toBe(0);
  });

  cloudTest('PAUSED -> STOPPED while shelved: satisfied, no 409; then RUNNING unshelves both, ids kept', () => {
    const before = ids();
    d.synth(stackOf(PowerState.STOPPED, PowerState.STOPPED));
    const r = d.applyOk();
    expect(r).toMatch(/SHELVED_OFFLOADED \(shelved by the cloud's lifetime or by hand\)/);
    d.synth(stackOf(PowerState.RUNNING, PowerState.RUNNING));
    d.applyOk();
    expect(status('stopped')).toBe('ACTIVE');
    expect(status('paused')).toBe('ACTIVE');
    expect(ids()).toEqual(before);
  });

  cloudTest('RUNNING -> STOPPED and PAUSED again after the unshelve: applied', () => {
    d.synth(stackOf(PowerState.STOPPED, PowerState.PAUSED));
    d.applyOk();
    expect(status('stopped')).toBe('SHUTOFF');
    expect(status('paused')).toBe('PAUSED');
  });
});

describe('a full GPU cloud fails the deploy in a bounded time, and Nova records why (real provider v3.4.0)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'full');
  const FILLERS = `gpu-filler-${run}-`;
  function stackOf(powerState: PowerState, second = false) {
    return (app: App) => {
      const stack = new TerraformStack(app, 'cloud-full');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      // One minute instead of the default 15, so the scenario is short.
      const serverTimeouts = { createMinutes: 2, updateMinutes: 1 };
      new GpuNode(stack, 'Node', { flavor, network, nodeName: `tier-${run}-full`, powerState, serverTimeouts, preflight: false });
      if (second) new GpuNode(stack, 'Late', { flavor, network, nodeName: `tier-${run}-late`, serverTimeouts, preflight: false });
      return stack;
    };
  }
  const nodeId = () => servers(d)[`tier-${run}-full`];
  /** `gpu-node-watch.sh why`, as the README tells a user to run it after such a failure. */
  const why = (server: string) => spawnSync('bash', [path.join(PROJECT_ROOT, 'assets', 'gpu-node-watch.sh'), 'why', server], {
    encoding: 'utf8', env: t.env,
  }).stdout.trim();

  afterAll(() => {
    if (t.skipped) return;
    inspect(t, 'free-gpus', FILLERS);
    d.destroy();
    console.log(`user-week full-cloud terraform timings: ${d.timings.join(', ')}`);
  });

  cloudTest('a node shelved while the cloud filled up: the RUNNING deploy fails after the update timeout, not 30 minutes; `why` names the node, the flavor and Nova\'s cause', () => {
    d.synth(stackOf(PowerState.RUNNING));
    d.applyOk();
    d.synth(stackOf(PowerState.SHELVED));
    d.applyOk();
    expect(inspect(t, 'server', nodeId()).status).toBe('SHELVED_OFFLOADED');
    const filled = inspect(t, 'fill-gpus', `g1-1x2080.medium|${FILLERS}`);
    expect(filled.fillers.length).toBeGreaterThan(0);
    d.synth(stackOf(PowerState.RUNNING));
    const start = Date.now();
    const r = d.apply();
    const seconds = (Date.now() - start) / 1000;
    expect(r.status).not.toBe(0);
    // The provider's whole message (resourceComputeInstanceV2Update's wait for ACTIVE, v3.4.0):
    expect(r.output).toMatch(/Error waiting for instance \(.*\) to become active: context deadline exceeded/);
    expect(r.output).toMatch(/openstack_compute_instance_v2\.Node_/);
    expect(seconds).toBeLessThan(240);
    expect(inspect(t, 'server', nodeId()).status).toBe('SHELVED_OFFLOADED');
    // What Nova recorded, in words: the README's next step after such a failure.
    expect(why(nodeId())).toMatch(new RegExp(`^why: tier-${run}-full \\(server .*, flavor g1-1x2080\\.medium\\) is SHELVED_OFFLOADED; ` +
      'last action: unshelve Error; the unshelve failed and the server is still shelved: Nova found no host with a free GPU of flavor g1-1x2080.medium'));
  });

  cloudTest('a new node on the full cloud fails at once; `why` gives Nova\'s fault "No valid host"', () => {
    d.synth(stackOf(PowerState.SHELVED, true));
    const r = d.apply();
    expect(r.status).not.toBe(0);
    // The provider's whole message (v3.4.0) names no cause; Nova's fault does.
    expect(r.output).toMatch(/unexpected state 'ERROR', wanted target 'ACTIVE'/);
    const late = d.resources('openstack_compute_instance_v2').find((x) => x.values.name === `tier-${run}-late`);
    const id = late?.values.id ?? inspect(t, 'server', `tier-${run}-late`).id;
    expect(why(id)).toMatch(/is ERROR; last action: create Error; Nova's fault: No valid host was found\. There are not enough hosts available\./);
  });

  cloudTest('GPUs freed: the same deploy unshelves the node (same server)', () => {
    const id = nodeId();
    inspect(t, 'free-gpus', FILLERS);
    d.synth(stackOf(PowerState.RUNNING));
    d.applyOk();
    expect(nodeId()).toBe(id);
    expect(inspect(t, 'server', id).status).toBe('ACTIVE');
  });
});
