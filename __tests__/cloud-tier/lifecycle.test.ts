// A GPU node's life on the mini-cloud with the real provider v3.4.0: deploy, edits, rollouts,
// power cycle, destroy while shelved. One deployment goes through the steps in order (each step
// is a test and starts from the state the previous one left), as a user's stack would.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, openstack, Peer, PowerState } from '../../src';
import { Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;

// Names unique per run: Nova keypair names are unique per user, and a run that died leaves some.
const run = Date.now().toString(36);
const nodeName = `tier-life-${run}`;

function publicKey(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloud-key-'));
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
  return fs.readFileSync(path.join(dir, 'id.pub'), 'utf8').trim();
}

interface Step {
  readonly recipe?: GpuRecipe;
  readonly rolloutToken?: string;
  readonly powerState?: PowerState;
  readonly lifetimeHours?: number;
  readonly metadata?: { [key: string]: string };
}

describe('a GPU node with a data volume on the mini-cloud (real provider v3.4.0)', () => {
  const key = t.skipped ? '' : publicKey();
  const d = t.skipped ? undefined! : new Deployment(t, 'life');
  let step: Step = {};
  function deploy(next: Step): string {
    step = { ...step, ...next };
    d.synth(stackOf(step));
    return d.applyOk();
  }
  function stackOf(s: Step) {
    return (app: App) => {
      const stack = new TerraformStack(app, 'cloud-life');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      const keyPair = new KeyPair(stack, 'Key', { keyPairName: `tier-key-${run}`, publicKey: key });
      new GpuNode(stack, 'Node', {
        flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, keyPair, nodeName,
        dataVolume: { sizeGiB: 10 }, ...s,
      });
      return stack;
    };
  }
  const server = () => d.one('openstack_compute_instance_v2');
  const volumeId = () => d.one('openstack_blockstorage_volume_v3').id as string;
  let firstServer = '';
  let dataVolume = '';

  afterAll(() => {
    if (t.skipped) return;
    // Whatever a failed step left: the retained volume's prevent_destroy first goes from the state.
    const vol = d.resources('openstack_blockstorage_volume_v3')[0]?.values.id;
    for (const r of d.resources('openstack_blockstorage_volume_v3')) d.tf('state', 'rm', r.address ?? '');
    d.destroy();
    for (const id of [...new Set([vol, dataVolume].filter(Boolean))]) inspect(t, 'delete-volume', id);
    console.log(`lifecycle terraform timings: ${d.timings.join(', ')}`);
  });

  cloudTest('deploy: the server is ACTIVE with its flavor, image, keypair, rules, floating IP and data volume', () => {
    deploy({});
    const s = inspect(t, 'server', server().id);
    expect(s.status).toBe('ACTIVE');
    expect(s.flavor).toBe('g1-1x2080.medium');
    expect(s.key_name).toBe(`tier-key-${run}`);
    expect(s.image_id).toBe(d.resources('openstack_compute_instance_v2')[0].values.block_device[0].uuid);
    dataVolume = volumeId();
    expect(s.volumes).toEqual([dataVolume]);
    expect(inspect(t, 'volume', dataVolume)).toMatchObject({ status: 'in-use', attached_to: [s.id] });
    expect(s.ports).toHaveLength(1);
    const [port] = s.ports;
    expect(port.rules).toEqual(expect.arrayContaining([expect.objectContaining({
      direction: 'ingress', protocol: 'tcp', port_min: 22, port_max: 22, remote_ip_prefix: '10.0.0.0/8',
    })]));
    // Secure by default: no rule lets SSH in from everywhere.
    expect(port.rules.filter((r: any) => r.direction === 'ingress' && r.remote_ip_prefix === '0.0.0.0/0')).toEqual([]);
    const fip = d.one('openstack_networking_floatingip_v2');
    expect(port.floating_ips).toEqual([expect.objectContaining({ address: fip.address })]);
    firstServer = s.id;
  });

  cloudTest('a recipe edit plans no change to the server', () => {
    step = { ...step, recipe: new GpuRecipe({ packages: ['htop'] }) };
    d.synth(stackOf(step));
    const plan = d.plan();
    expect(plan.changes.filter((c) => c.type === 'openstack_compute_instance_v2')).toEqual([]);
    expect(plan.changes).toEqual([]);
    expect(plan.status).toBe(0);
    d.applyOk();
  });

  cloudTest('the first rolloutToken replaces the server; the same data volume is attached to the new one', () => {
    const plan = (() => { step = { ...step, rolloutToken: 'r1' }; d.synth(stackOf(step)); return d.plan(); })();
    expect(plan.changes).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'openstack_compute_instance_v2', actions: ['delete', 'create'] }),
    ]));
    d.applyOk();
    const s = inspect(t, 'server', server().id);
    expect(s.id).not.toBe(firstServer);
    expect(s.status).toBe('ACTIVE');
    expect(inspect(t, 'server', firstServer)).toEqual({});
    expect(volumeId()).toBe(dataVolume);
    expect(s.volumes).toEqual([dataVolume]);
    firstServer = s.id;
  });

  cloudTest('a changed rolloutToken replaces the server again, with the same data volume', () => {
    deploy({ rolloutToken: 'r2' });
    const s = inspect(t, 'server', server().id);
    expect(s.id).not.toBe(firstServer);
    expect(s.volumes).toEqual([dataVolume]);
    expect(inspect(t, 'volume', dataVolume)).toMatchObject({ status: 'in-use', attached_to: [s.id] });
  });

  cloudTest('power cycle: SHELVED (shelved_offloaded in Nova), an edit while shelved, RUNNING, STOPPED', () => {
    deploy({ powerState: PowerState.SHELVED });
    const id = server().id;
    expect(inspect(t, 'server', id).status).toBe('SHELVED_OFFLOADED');
    // Lifetime and metadata edits while shelved: applied at the next rollout, never a 409 now.
    const out = deploy({ lifetimeHours: 48, metadata: { team: 'vision' } });
    expect(out).not.toMatch(/got 409|HTTP 409|Conflict/); // not the digits 409 inside an id
    expect(inspect(t, 'server', id).status).toBe('SHELVED_OFFLOADED');
    deploy({ powerState: PowerState.RUNNING });
    const running = inspect(t, 'server', id);
    expect(running.status).toBe('ACTIVE');
    expect(running.volumes).toEqual([dataVolume]);
    deploy({ powerState: PowerState.STOPPED });
    expect(inspect(t, 'server', id).status).toBe('SHUTOFF');
    expect(server().id).toBe(id);
  });

  cloudTest('destroy of a shelved node: the RETAIN volume stops it first; after `state rm` it succeeds and the volume stays', () => {
    deploy({ powerState: PowerState.RUNNING });
    deploy({ powerState: PowerState.SHELVED });
    const id = server().id;
    expect(inspect(t, 'server', id).status).toBe('SHELVED_OFFLOADED');
    const refused = d.destroy();
    expect(refused.status).not.toBe(0);
    expect(refused.output.replace(/\s+/g, ' ')).toMatch(/Instance cannot be destroyed.*prevent_destroy/);
    expect(inspect(t, 'server', id).status).toBe('SHELVED_OFFLOADED');
    // README "Protecting what you own": keep the volume and drop it from the stack.
    const address = d.resources('openstack_blockstorage_volume_v3')[0].address;
    expect(d.tf('state', 'rm', address).status).toBe(0);
    const destroyed = d.destroy();
    if (destroyed.status !== 0) console.log(destroyed.output.slice(-4000));
    expect(destroyed.status).toBe(0);
    expect(inspect(t, 'server', id)).toEqual({});
    expect(inspect(t, 'volume', dataVolume)).toMatchObject({ status: 'available', attached_to: [] });
  });
});
