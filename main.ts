// The example app: what the GPU cloud's start/terminate scripts do, as cdktf stacks.
//
//   npx cdktf synth              # writes cdktf.out/stacks/<stack>/cdk.tf.json
//   npx cdktf deploy gpu-node    # boots the node; prints the ssh command
//   npx cdktf destroy gpu-node   # what terminate-nvidia-openstack-instance.py did
//   npx cdktf deploy bake        # bake the recipe into an image, once per recipe key
//   npx cdktf deploy workers     # nodes that boot from the newest bake (or install on first boot)
//   npx cdktf deploy gpu-cluster # a Slurm head and two 2-GPU workers; ssh to the head, then sinfo, sbatch
//   npx cdktf deploy gpu-fleet   # three equal nodes in one server group that reach each other
//
// Settings (environment variables, all optional):
//   OS_CLOUD             clouds.yaml entry to use (default: openstack)
//   GPU_USER             use your existing project network <GPU_USER>-net instead of a new one
//   SSH_PUBLIC_KEY_FILE  import this public key (default: the cloud generates a key pair)
//   SSH_ALLOWED_CIDR     who may SSH to the nodes (default: 10.0.0.0/8, a campus/VPN range)
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import {
  CloudProfile,
  GpuFlavor,
  GpuFleet,
  GpuModel,
  GpuNetwork,
  GpuNode,
  GpuRecipe,
  INetwork,
  KeyPair,
  NvidiaDriver,
  CudaToolkit,
  openstack,
  NodeImage,
  Peer,
  Port,
  PowerState,
  ServerGroupPolicy,
  SlurmCluster,
  SnapshotImage,
  UbuntuRelease,
  VolumeRemovalPolicy,
} from './src';

const profile = CloudProfile.HFD_NETLAB;
const sshFrom = [Peer.ipv4(process.env.SSH_ALLOWED_CIDR ?? '10.0.0.0/8')];

/** A stack with the OpenStack provider reading credentials from clouds.yaml; no secrets in code or output. */
class OpenStackStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new openstack.provider.OpenstackProvider(this, 'openstack', { cloud: process.env.OS_CLOUD ?? 'openstack' });
  }

  protected network(): INetwork {
    const user = process.env.GPU_USER;
    return user
      ? GpuNetwork.forUser(this, 'Network', user, profile)
      : new GpuNetwork(this, 'Network', { cloudProfile: profile, sshFrom, ingress: [{ port: Port.JUPYTER }] });
  }

  /** The network for nodes, and who may SSH in: a new network brings its own security group. */
  protected nodeAccess(): { network: INetwork; sshFrom?: Peer[] } {
    const network = this.network();
    return { network, sshFrom: network instanceof GpuNetwork ? undefined : sshFrom };
  }

  protected keyPair(): KeyPair {
    const file = process.env.SSH_PUBLIC_KEY_FILE;
    return new KeyPair(this, 'KeyPair', { keyPairName: `gpuaas-${this.node.id}`, publicKeyFile: file });
  }
}

/** start-nvidia-openstack-instance.py: one RTX 2080 Ti with driver and CUDA, a floating IP and the ssh command. */
class GpuNodeStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new GpuNode(this, 'Node', {
      ...this.nodeAccess(),
      cloudProfile: profile,
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), // g1-1x2080.medium
      keyPair: this.keyPair(),
      recipe: new GpuRecipe({
        name: 'cuda-base',
        nvidiaDriver: NvidiaDriver.R580_OPEN,
        cuda: CudaToolkit.V13_0,
        packages: ['htop', 'nvtop'],
      }),
      // Like the terminate script, `cdktf destroy gpu-node` removes everything, this volume too.
      // (The default, VolumeRemovalPolicy.RETAIN, keeps a volume until you let it go; see workers.)
      dataVolume: { sizeGiB: 50, removalPolicy: VolumeRemovalPolicy.DESTROY },
      // `cdktf deploy gpu-node` returns when the GPUs passed the readiness check (needs the OpenStack CLI);
      // the plan-time preflight (flavor, its PCI alias GPU count, the project's quota) is on by default.
      waitForReady: { timeoutMinutes: 45 },
    });
  }
}

/** start-gpuburn-openstack-instance.py: four RTX 2060 SUPER stress-tested with gpu-burn. */
class BurnInStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new GpuNode(this, 'Node', {
      ...this.nodeAccess(),
      cloudProfile: profile,
      flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 4), // g1-4x2060.medium
      keyPair: this.keyPair(),
      recipe: new GpuRecipe({ name: 'burn-in', containerToolkit: false, burnInSeconds: 600 }),
    });
  }
}

/** The recipe that the bake and workers stacks share: equal recipes give equal keys. */
const workerRecipe = new GpuRecipe({
  name: 'pytorch-worker',
  nvidiaDriver: NvidiaDriver.R580_OPEN,
  cuda: CudaToolkit.V13_0,
  packages: ['python3-venv', 'python3-pip'],
  commands: ['python3 -m venv /opt/venv', '/opt/venv/bin/pip install --no-cache-dir torch'],
});
const workerBaseImage = NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04);

/** Bake: boot a builder with the recipe, snapshot it, delete the builder; nothing to do once the image exists. */
class BakeStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new SnapshotImage(this, 'PytorchImage', {
      cloudProfile: profile,
      recipe: workerRecipe,
      baseImage: workerBaseImage,
      flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1),
      network: this.network(),
      cloud: process.env.OS_CLOUD ?? 'openstack',
    });
  }
}

/** Workers: boot from the newest baked image of the recipe; before the first bake, from the base image. */
class WorkersStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const access = this.nodeAccess();
    const keyPair = this.keyPair();
    const image = NodeImage.fromRecipe(workerRecipe, { baseImage: workerBaseImage });
    // Worker2 shows the shelve cycle: the provider creates it running; from the next deploy on,
    // SHELVED frees its GPUs and keeps its disk, and RUNNING brings it back.
    for (const [i, power] of [PowerState.RUNNING, PowerState.SHELVED].entries()) {
      new GpuNode(this, `Worker${i + 1}`, {
        ...access,
        cloudProfile: profile,
        flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 2),
        keyPair,
        image,
        recipe: workerRecipe,
        powerState: power,
        lifetimeHours: 72,
        dataVolume: { sizeGiB: 100 },
      });
    }
  }
}

/** A pool of three equal RTX 2080 Ti nodes for a course: spread over GPU hosts where the cloud can, open to each other. */
class GpuFleetStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new GpuFleet(this, 'Pool', {
      ...this.nodeAccess(),
      cloudProfile: profile,
      count: 3,
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), // g1-1x2080.medium each
      policy: ServerGroupPolicy.SOFT_ANTI_AFFINITY,
      keyPair: this.keyPair(),
      recipe: new GpuRecipe({ name: 'course-pool', packages: ['python3-venv'] }),
    });
  }
}

/**
 * A Slurm cluster: a head and two g1-2x2080.medium workers on a new network (or, with GPU_USER, on
 * <GPU_USER>-net: addresses from the ports, in the servers' metadata); `sinfo`, `sbatch` on the head.
 */
class GpuClusterStack extends OpenStackStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new SlurmCluster(this, 'Cluster', {
      ...(process.env.GPU_USER ? { network: this.network() } : {}),
      clusterName: 'gpu-cluster',
      cloudProfile: profile,
      sshFrom,
      keyPair: this.keyPair(),
      workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 2 }],
      recipe: new GpuRecipe({ name: 'cluster', packages: ['python3-venv'] }),
      // Give idle GPUs back (README "Giving GPUs back"): on with the Keystone URL of your cloud.
      ...(process.env.OS_AUTH_URL ? { powerSaving: { authUrl: process.env.OS_AUTH_URL, region: process.env.OS_REGION_NAME } } : {}),
    });
  }
}

const app = new App();
new GpuNodeStack(app, 'gpu-node');
new BurnInStack(app, 'gpu-burn-in');
new BakeStack(app, 'bake');
new WorkersStack(app, 'workers');
new GpuFleetStack(app, 'gpu-fleet');
new GpuClusterStack(app, 'gpu-cluster');
app.synth();
