// waitForReady on the mini-cloud: the deploy's watcher (assets/gpu-node-watch.sh, run by the
// real terraform's local-exec) reads the server's console through Nova; the test plays the
// node's lines back into the file ConsoleFakeDriver serves as that console.
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, openstack, Peer } from '../../src';
import { CONSOLE_DIR, Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;

const run = Date.now().toString(36);
const nodeName = `tier-ready-${run}`;
const RECIPE = 'tier-ready';
const BOOT = ['[    0.000000] Linux version 6.8.0-generic (buildd@lcy02) #1 SMP', '[    5.100000] cloud-init[812]: running modules:final'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's id once Nova has it (the apply is still running), else after `waitMs` undefined. */
async function serverAppears(exclude: string[], waitMs = 240000): Promise<string | undefined> {
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    const s = inspect(t, 'server', nodeName);
    if (s.id && !exclude.includes(s.id)) return s.id;
    await sleep(3000);
  }
  return undefined;
}

describe('waitForReady on the mini-cloud (real provider v3.4.0, the watcher through Nova\'s console API)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'ready');
  const written: string[] = [];
  const stackOf = (rolloutToken?: string) => (app: App) => {
    const stack = new TerraformStack(app, 'cloud-ready');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuNode(stack, 'Node', {
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, nodeName, floatingIp: false, rolloutToken,
      recipe: new GpuRecipe({ name: RECIPE }),
      waitForReady: { timeoutMinutes: 5, pollIntervalSeconds: 3 },
    });
    return stack;
  };
  /** Writes the console of server `id`: the boot first, `verdict` a little later, as a node prints them. */
  async function playBack(id: string, verdict: string): Promise<void> {
    const file = path.join(CONSOLE_DIR, `${id}.log`);
    written.push(file);
    fs.writeFileSync(file, `${BOOT.join('\n')}\n`);
    await sleep(8000);
    fs.appendFileSync(file, `[  812.345678] cloud-init[1234]: ${verdict}\n`);
  }

  afterAll(() => {
    if (t.skipped) return;
    d.destroy();
    for (const f of written) fs.rmSync(f, { force: true });
    console.log(`waitForReady terraform timings: ${d.timings.join(', ')}`);
  });

  cloudTest('the deploy returns once the console shows this boot\'s ready line', async () => {
    d.synth(stackOf());
    const apply = d.applyAsync();
    const id = await serverAppears([]);
    expect(id).toBeDefined();
    await playBack(id!, `GPU-NODE-READY recipe=${RECIPE} key=0123456789abcdef gpus=1 model="RTX 2080 Ti" driver=570.133.20`);
    const r = await apply;
    if (r.status !== 0) console.log(r.output.slice(-4000));
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/is ready: .*GPU-NODE-READY recipe=tier-ready/);
  });

  cloudTest('a rollout waits again, and the deploy fails with the node\'s own failure line', async () => {
    const before = d.one('openstack_compute_instance_v2').id;
    d.synth(stackOf('r1'));
    const apply = d.applyAsync();
    const id = await serverAppears([before]);
    expect(id).toBeDefined();
    await playBack(id!, `GPU-NODE-FAILED recipe=${RECIPE} step=nvidia-driver reason="dkms build failed for 570-open"`);
    const r = await apply;
    expect(r.status).not.toBe(0);
    expect(r.output.replace(/\s+/g, ' ')).toMatch(/cloud-ready\/Node reported a failure: .*reason="dkms build failed for 570-open"/);
  });
});
