// The props of every public construct and factory, for checkProps (validation-props.ts).
// Classes are named, not imported: they import this module themselves, and an app may load two
// copies of the package (instanceof would then refuse the other copy's objects).
import { instance, opt, PropKind, PropSchema, req, shape } from './validation-props';

const NETWORK = shape('INetwork', 'networkId', 'subnetId');
const KEY_PAIR = shape('IKeyPair', 'keyPairName');
const NODE_IMAGE = shape('INodeImage', 'bind');
const SECURITY_GROUP = shape('ISecurityGroup', 'securityGroupId');
const PEERS: PropKind = { arrayOf: instance('Peer') };
const PROFILE = instance('CloudProfile');
const FLAVOR = instance('GpuFlavor');
const RECIPE = instance('GpuRecipe');

export const INGRESS_RULE: PropSchema = { port: req(instance('Port')), peers: opt(PEERS) };
const INGRESS: PropKind = { arrayOf: { props: INGRESS_RULE, name: 'IngressRule' } };

const SERVER_TIMEOUTS: PropSchema = { createMinutes: opt('number'), updateMinutes: opt('number'), deleteMinutes: opt('number') };
export const DATA_VOLUME_OPTIONS: PropSchema = {
  sizeGiB: opt('number'), existingVolumeId: opt('string'), volumeName: opt('string'), volumeType: opt('string'), availabilityZone: opt('string'), removalPolicy: opt('string'),
};
export const READY_WAIT_OPTIONS: PropSchema = { timeoutMinutes: opt('number'), pollIntervalSeconds: opt('number'), cloud: opt('string') };
export const PREFLIGHT_OPTIONS: PropSchema = { gpus: opt('boolean'), quota: opt('boolean') };

export const IDLE_SHELVE_OPTIONS: PropSchema = { afterHours: opt('number'), authUrl: req('string'), region: opt('string'), roles: opt('string[]') };

// GpuNodeOptions <- GpuNodeBaseProps <- GpuNodeProps / GpuFleetProps, as the interfaces extend each other.
export const GPU_NODE_OPTIONS: PropSchema = {
  rolloutToken: opt('string'),
  replaceOnChange: opt('boolean'),
  metadata: opt('map'),
  tags: opt('string[]'),
  availabilityZone: opt('string'),
  lifetimeWarningHours: opt('number'),
  rootVolumeSizeGiB: opt('number'),
  dataVolume: opt({ props: DATA_VOLUME_OPTIONS, name: 'DataVolumeOptions' }),
  serverTimeouts: opt({ props: SERVER_TIMEOUTS, name: 'ServerTimeouts' }),
  preflight: opt({ oneOf: ['boolean', { props: PREFLIGHT_OPTIONS, name: 'PreflightOptions' }] }),
};

// Required and main props first: error messages list the first ones.
export const GPU_NODE_BASE_PROPS: PropSchema = {
  flavor: req(FLAVOR),
  network: req(NETWORK),
  cloudProfile: opt(PROFILE),
  image: opt(NODE_IMAGE),
  keyPair: opt(KEY_PAIR),
  recipe: opt(RECIPE),
  sshFrom: opt(PEERS),
  ingress: opt(INGRESS),
  floatingIp: opt('boolean'),
  powerState: opt(instance('PowerState')),
  lifetimeHours: opt('number'),
  waitForReady: opt({ oneOf: ['boolean', { props: READY_WAIT_OPTIONS, name: 'ReadyWaitOptions' }] }),
  sshProxyJump: opt('string'),
  outputs: opt('string'),
  idleShelve: opt({ props: IDLE_SHELVE_OPTIONS, name: 'IdleShelveOptions' }),
  ...GPU_NODE_OPTIONS,
};

export const GPU_NODE_PROPS: PropSchema = {
  ...GPU_NODE_BASE_PROPS,
  nodeName: opt('string'),
  fixedIpAddress: opt('string'),
  securityGroups: opt({ arrayOf: SECURITY_GROUP }),
  serverGroup: opt(shape('IServerGroup', 'serverGroupId')),
  sealForSnapshot: opt('boolean'),
};

export const SERVER_GROUP_PROPS: PropSchema = { serverGroupName: opt('string'), policy: opt('string'), maxServerPerHost: opt('number') };

export const GPU_FLEET_PROPS: PropSchema = {
  ...GPU_NODE_BASE_PROPS,
  count: opt('number'), nodeNames: opt('string[]'), fixedIpAddresses: opt('string[]'), securityGroups: opt({ arrayOf: SECURITY_GROUP }),
  fleetName: opt('string'), policy: opt('string'), maxServerPerHost: opt('number'), sshConfigOutput: opt('boolean'),
};

export const SLURM_WORKER_GROUP_OPTIONS: PropSchema = { partition: req('string'), flavor: req(FLAVOR), count: req('number'), ...GPU_NODE_OPTIONS };
export const SLURM_POWER_SAVING_OPTIONS: PropSchema = {
  authUrl: req('string'), region: opt('string'), suspendAfterMinutes: opt('number'), resumeTimeoutMinutes: opt('number'), suspendTimeoutMinutes: opt('number'), roles: opt('string[]'),
};
export const SLURM_CLUSTER_PROPS: PropSchema = {
  workerGroups: req({ arrayOf: { props: SLURM_WORKER_GROUP_OPTIONS, name: 'SlurmWorkerGroupOptions' } }),
  headOptions: opt({ props: GPU_NODE_OPTIONS, name: 'GpuNodeOptions' }),
  clusterName: opt('string'), headFlavor: opt(FLAVOR), network: opt(NETWORK), cidr: opt('string'), sshFrom: opt(PEERS), cloudProfile: opt(PROFILE),
  release: opt('string'), recipe: opt(RECIPE), keyPair: opt(KEY_PAIR), waitForReady: opt('boolean'), readyTimeoutMinutes: opt('number'),
  powerSaving: opt({ props: SLURM_POWER_SAVING_OPTIONS, name: 'SlurmPowerSavingOptions' }),
};

export const GPU_NETWORK_PROPS: PropSchema = {
  networkName: opt('string'), cidr: opt('string'), dnsNameservers: opt('string[]'), cloudProfile: opt(PROFILE),
  router: opt('boolean'), sshFrom: opt(PEERS), ingress: opt(INGRESS), allowIcmp: opt('boolean'), fixedAddressCount: opt('number'),
};
export const EXISTING_NETWORK_OPTIONS: PropSchema = { subnetName: opt('string') };

export const CONNECTIONS_PROPS: PropSchema = { securityGroups: opt({ arrayOf: SECURITY_GROUP }), peers: opt(PEERS) };

export const SECURITY_GROUP_PROPS: PropSchema = {
  securityGroupName: opt('string'), sshFrom: opt(PEERS), ingress: opt(INGRESS), allowIcmp: opt('boolean'), allowMembers: opt('boolean'), description: opt('string'),
};

export const KEY_PAIR_PROPS: PropSchema = {
  keyPairName: opt('string'), publicKey: opt('string'), publicKeyFile: opt('string'), privateKeyHint: opt('string'),
};
export const EXISTING_KEY_PAIR_OPTIONS: PropSchema = { privateKeyHint: opt('string') };

export const SNAPSHOT_IMAGE_PROPS: PropSchema = {
  recipe: req(RECIPE), baseImage: opt(NODE_IMAGE), flavor: req(FLAVOR), network: req(NETWORK), cloudProfile: opt(PROFILE),
  cloud: opt('string'), imageName: opt('string'), tags: opt('string[]'), visibility: opt('string'),
  timeoutMinutes: opt('number'), pollIntervalSeconds: opt('number'), keyPair: opt(KEY_PAIR),
};

export const RECIPE_FILE: PropSchema = { path: req('string'), content: req('string'), permissions: opt('string'), owner: opt('string') };
export const GPU_RECIPE_PROPS: PropSchema = {
  name: opt('string'), nvidiaDriver: opt(instance('NvidiaDriver')), cuda: opt(instance('CudaToolkit')),
  installCuda: opt('boolean'), containerToolkit: opt('boolean'), containerToolkitVersion: opt('string'), burnInSeconds: opt('number'),
  packages: opt('string[]'), files: opt({ arrayOf: { props: RECIPE_FILE, name: 'RecipeFile' } }), commands: opt('string[]'),
};

export const GPU_FLAVOR_SPEC: PropSchema = { flavorName: req('string'), model: req(instance('GpuModel')), gpuCount: req('number') };
export const UBUNTU_IMAGE_SPEC: PropSchema = { release: req('string'), imageName: req('string') };
export const CLOUD_PROFILE_PROPS: PropSchema = {
  name: req('string'),
  flavors: opt({ arrayOf: { props: GPU_FLAVOR_SPEC, name: 'GpuFlavorSpec' } }),
  ubuntuImages: opt({ arrayOf: { props: UBUNTU_IMAGE_SPEC, name: 'UbuntuImageSpec' } }),
  loginUser: opt('string'), externalNetworkName: opt('string'), userNetworkPattern: opt('string'), maxLifetimeHours: opt('number'),
};

export const NAMED_GPU_FLAVOR_OPTIONS: PropSchema = { model: opt(instance('GpuModel')), gpuCount: opt('number') };
export const GPU_MODEL_PROPS: PropSchema = {
  id: req('string'), productName: req('string'), architecture: req('string'), memoryGiB: req('number'), computeCapability: req('string'),
  dataCenter: opt('boolean'), nvidiaSmiMatch: opt('string'), nvSwitch: opt('boolean'),
};
export const RECIPE_IMAGE_OPTIONS: PropSchema = { baseImage: req(NODE_IMAGE), visibility: opt('string') };

/** Interface name -> schema, for the test that every prop of every props interface is listed. */
export const SCHEMAS: { [interfaceName: string]: PropSchema } = {
  GpuNodeOptions: GPU_NODE_OPTIONS, GpuNodeBaseProps: GPU_NODE_BASE_PROPS, GpuNodeProps: GPU_NODE_PROPS, DataVolumeOptions: DATA_VOLUME_OPTIONS, ReadyWaitOptions: READY_WAIT_OPTIONS,
  PreflightOptions: PREFLIGHT_OPTIONS, IdleShelveOptions: IDLE_SHELVE_OPTIONS, ServerTimeouts: SERVER_TIMEOUTS, GpuNetworkProps: GPU_NETWORK_PROPS, ExistingNetworkOptions: EXISTING_NETWORK_OPTIONS,
  SecurityGroupProps: SECURITY_GROUP_PROPS, ConnectionsProps: CONNECTIONS_PROPS, IngressRule: INGRESS_RULE, KeyPairProps: KEY_PAIR_PROPS, ExistingKeyPairOptions: EXISTING_KEY_PAIR_OPTIONS,
  SnapshotImageProps: SNAPSHOT_IMAGE_PROPS, GpuRecipeProps: GPU_RECIPE_PROPS, RecipeFile: RECIPE_FILE,
  CloudProfileProps: CLOUD_PROFILE_PROPS, GpuFlavorSpec: GPU_FLAVOR_SPEC, UbuntuImageSpec: UBUNTU_IMAGE_SPEC,
  ServerGroupProps: SERVER_GROUP_PROPS, GpuFleetProps: GPU_FLEET_PROPS,
  SlurmClusterProps: SLURM_CLUSTER_PROPS, SlurmWorkerGroupOptions: SLURM_WORKER_GROUP_OPTIONS, SlurmPowerSavingOptions: SLURM_POWER_SAVING_OPTIONS,
  NamedGpuFlavorOptions: NAMED_GPU_FLAVOR_OPTIONS, GpuModelProps: GPU_MODEL_PROPS, RecipeImageOptions: RECIPE_IMAGE_OPTIONS,
};
