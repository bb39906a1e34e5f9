// The snapshot bake on the mini-cloud: SnapshotImage's builder, the watcher (bake mode) reading
// the played-back console through Nova, a real Glance image from `openstack server image create`
// with our properties and tag, the builder deleted; a second deploy bakes nothing. A worker of the
// recipe deployed before the bake boots the base image, keeps its server when the bake lands, and
// boots the baked image at its next rollout.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, NodeImage, openstack, Peer, SnapshotImage, UbuntuRelease } from '../../src';
import { CONSOLE_DIR, Deployment, inspect, tier } from './support';

const t = tier();
if (t.skipped) console.log(`skipped: ${t.skipped}`);
const cloudTest = t.skipped ? test.skip : test;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A recipe name per run: its key, and so the image's tag, is new each run (a bake of an earlier
// run would otherwise be found and reused).
const RECIPE = `tier-bake-${Date.now().toString(36)}`;
const BOOT = '[    0.000000] Linux version 6.8.0-generic (buildd@lcy02) #1 SMP';

describe('SnapshotImage on the mini-cloud (real provider v3.4.0, Glance, the watcher through Nova)', () => {
  const d = t.skipped ? undefined! : new Deployment(t, 'bake');
  const workers = t.skipped ? undefined! : new Deployment(t, 'bake-workers');
  const recipe = new GpuRecipe({ name: RECIPE });
  let image: SnapshotImage;
  const written: string[] = [];
  const build = (app: App) => {
    const stack = new TerraformStack(app, 'cloud-bake');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    image = new SnapshotImage(stack, 'Image', {
      recipe, flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network,
      timeoutMinutes: 5, pollIntervalSeconds: 3,
    });
    return stack;
  };
  let imageId = '';
  /** The workers' stack: one node of the recipe (`NodeImage.fromRecipe`), synthesized into `workers`. */
  function synthWorkers(rolloutToken?: string): void {
    workers.synth((app: App) => {
      const stack = new TerraformStack(app, 'cloud-bake-workers');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
      new GpuNode(stack, 'Worker', {
        flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, recipe, floatingIp: false, rolloutToken,
        image: NodeImage.fromRecipe(recipe, { baseImage: NodeImage.ubuntu(UbuntuRelease.JAMMY_22_04) }),
      });
      return stack;
    });
  }
  /** The worker's server as Nova has it. */
  const workerServer = () => inspect(t, 'server', workers.one('openstack_compute_instance_v2').id as string);
  let firstWorker = '';

  cloudTest('before the bake, a worker of the recipe deploys from the base image', () => {
    const [base] = inspect(t, 'image', 'Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image');
    synthWorkers();
    workers.applyOk();
    const s = workerServer();
    expect(s.status).toBe('ACTIVE');
    expect(s.image_id).toBe(base.id);
    firstWorker = s.id;
  });

  afterAll(() => {
    if (t.skipped) return;
    workers.destroy();
    d.destroy();
    for (const f of written) fs.rmSync(f, { force: true });
    if (imageId) spawnSync('openstack', ['image', 'delete', imageId], { env: t.env, timeout: 60000 });
    console.log(`bake terraform timings: ${d.timings.join(', ')}; workers: ${workers.timings.join(', ')}`);
  });

  cloudTest('deploy bakes: ready and seal lines seen, a Glance image with our properties and tag, the builder deleted', async () => {
    d.synth(build);
    const apply = d.applyAsync();
    const builderName = `${image.imageName}-builder`;
    let id: string | undefined;
    for (let i = 0; i < 80 && !id; i++) {
      id = inspect(t, 'server', builderName).id;
      if (!id) await sleep(3000);
    }
    expect(id).toBeDefined();
    const file = path.join(CONSOLE_DIR, `${id}.log`);
    written.push(file);
    fs.writeFileSync(file, `${BOOT}\n[  812.3] cloud-init[1234]: GPU-NODE-READY recipe=${RECIPE} key=${image.recipeKey} gpus=1 driver=570\n`);
    await sleep(8000);
    fs.appendFileSync(file, `[  840.1] bash[2345]: GPU-NODE-SEALED recipe=${RECIPE} key=${image.recipeKey}\n`);
    await sleep(8000);
    // The sealed node powers itself off; the fake hypervisor has no guest to do it.
    inspect(t, 'stop-server', id!);
    const r = await apply;
    if (r.status !== 0) console.log(r.output.slice(-5000));
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/node ready: .*GPU-NODE-READY/);
    const images = inspect(t, 'image', image.imageName);
    expect(images).toHaveLength(1);
    imageId = images[0].id;
    expect(images[0].status).toBe('active');
    expect(images[0].tags).toEqual(expect.arrayContaining([`gpu-node-recipe-${image.recipeKey}`, 'gpu-node-image', RECIPE]));
    expect(images[0].properties).toMatchObject({ gpu_node_recipe_key: image.recipeKey, gpu_node_recipe_name: RECIPE });
    expect(inspect(t, 'server', id!)).toEqual({});
  });

  cloudTest('a second deploy finds the image by its tag and changes nothing in the cloud', () => {
    d.synth(build);
    const plan = d.plan();
    expect(plan.changes.filter((c) => c.type.startsWith('openstack_'))).toEqual([]);
    d.applyOk();
    expect(inspect(t, 'image', image.imageName)).toHaveLength(1);
    expect(inspect(t, 'server', `${image.imageName}-builder`)).toEqual({});
  });

  cloudTest('after the bake, the deployed worker keeps its server: the plan resolves the baked image and changes nothing', () => {
    expect(imageId).not.toBe('');
    synthWorkers();
    const plan = workers.plan();
    expect(plan.status).toBe(0);
    expect(plan.changes).toEqual([]);
    // The recipe's image lookup (found by its tag) now reads the baked image.
    const show = JSON.parse(workers.tf('show', '-json', 'tier.tfplan').output);
    const lookups = JSON.stringify(show.prior_state?.values?.root_module?.resources?.filter((r: any) => r.mode === 'data') ?? []);
    expect(lookups).toContain(imageId);
    expect(workerServer().id).toBe(firstWorker);
  });

  cloudTest('a rollout of the worker boots it from the baked image', () => {
    synthWorkers('baked');
    workers.applyOk();
    const s = workerServer();
    expect(s.id).not.toBe(firstWorker);
    expect(s.status).toBe('ACTIVE');
    expect(s.image_id).toBe(imageId);
    expect(inspect(t, 'server', firstWorker)).toEqual({});
  });
});
