// Bad and edge-case inputs across the public API, as a hostile or careless caller would give
// them (also from plain JavaScript or a JSON config, where the types do not protect).
// Every bad case asserts the message parts in order: where (construct path or factory), the bad
// value, and the fix. Valid edge cases and tokens synthesize and pass both offline checks.
import { generateKeyPairSync } from 'crypto';
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  CloudProfile, CudaToolkit, GpuArchitecture, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuNodeProps, GpuRecipe, GpuRecipeProps,
  KernelModules, KeyPair, NodeImage, NodeOutputs, NvidiaDriver, openstack, Peer, Port, PowerState, SecurityGroup,
  SnapshotImage, SnapshotImageProps, UbuntuRelease, VolumeRemovalPolicy,
} from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

/** An OpenSSH ed25519 public key line made from a fresh key. */
function ed25519Key(): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const field = (b: Buffer) => Buffer.concat([Buffer.alloc(4), b]).fill(0, 0, 0);
  const str = (b: Buffer) => { const f = field(b); f.writeUInt32BE(b.length, 0); return f; };
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')} test@host`;
}
const KEY = ed25519Key();
const keyBody = (fields: Buffer[]) => Buffer.concat(fields.map((b) => { const l = Buffer.alloc(4); l.writeUInt32BE(b.length); return Buffer.concat([l, b]); })).toString('base64');

const any = (v: unknown) => v as any;
let n = 0;
/** A fresh stack for each case, so names never collide across cases. */
function stack(): TerraformStack {
  const s = new TerraformStack(Testing.app(), 't');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  n++;
  return s;
}
function node(props: Partial<GpuNodeProps> | any): GpuNode {
  const s = stack();
  return new GpuNode(s, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'), ...props });
}
function snapshot(props: Partial<SnapshotImageProps> | any): SnapshotImage {
  const s = stack();
  return new SnapshotImage(s, 'Image', {
    recipe: new GpuRecipe(), flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'), ...props,
  });
}
const recipe = (props: GpuRecipeProps | any) => new GpuRecipe(props);
const profile = (props: any) => CloudProfile.custom({ name: 'lab', ...props });
const model = (props: any) => GpuModel.custom({ id: 'X', productName: 'NVIDIA X', architecture: GpuArchitecture.AMPERE, memoryGiB: 8, computeCapability: '8.6', ...props });
const withRecipe = (props: GpuRecipeProps, extra: any = {}) => node({ recipe: new GpuRecipe(props), ...extra });

type Case = [string, () => unknown, string[]];
const N = 't/Node';
const R = 'GpuRecipe gpu-base';
const P = 'CloudProfile lab';

const gpuNode: Case[] = [
  ['removalPolicy RETAIN from JSON fails closed', () => node({ dataVolume: { sizeGiB: 10, removalPolicy: 'RETAIN' } }),
    [N, 'dataVolume.removalPolicy must be one of VolumeRemovalPolicy.RETAIN, VolumeRemovalPolicy.DESTROY', "got 'RETAIN'", 'Use VolumeRemovalPolicy.RETAIN']],
  ['removalPolicy typo', () => node({ dataVolume: { sizeGiB: 10, removalPolicy: 'destory' } }), [N, 'dataVolume.removalPolicy', "got 'destory'", 'VolumeRemovalPolicy.RETAIN']],
  ['removalPolicy as a number', () => node({ dataVolume: { sizeGiB: 10, removalPolicy: 1 } }), [N, 'dataVolume.removalPolicy must be a string', 'got 1', 'Check the DataVolumeOptions']],
  ['missing network', () => new GpuNode(stack(), 'Node', any({ flavor: GpuFlavor.of(GpuModel.T4, 1) })), [N, 'network must be given', 'got undefined', 'required in GpuNodeProps']],
  ['missing flavor', () => { const s = stack(); return new GpuNode(s, 'Node', any({ network: GpuNetwork.forUser(s, 'Net', 'a') })); }, [N, 'flavor must be given', 'got undefined', 'required in GpuNodeProps']],
  ['flavor as a string', () => node({ flavor: 'g1-1x2080.medium' }), [N, 'flavor must be a GpuFlavor', "got 'g1-1x2080.medium'", 'Check the GpuNodeProps']],
  ['network as a string', () => node({ network: 'alice-net' }), [N, 'network must be a INetwork (an object with networkId, subnetId)', "got 'alice-net'", 'Check']],
  ['props undefined', () => new GpuNode(stack(), 'Node', any(undefined)), [N, 'props must be an object of GpuNodeProps', 'got undefined', 'Pass { flavor, network, cloudProfile, ... }']],
  ['a typo in a prop name', () => node({ floatingIP: false }), [N, 'floatingIP must be a prop of GpuNodeProps', 'got false', "Did you mean 'floatingIp'?"]],
  ['an unknown prop', () => node({ userData: '#!/bin/sh' }), [N, 'userData must be a prop of GpuNodeProps', "got '#!/bin/sh'", 'Known props: flavor, network']],
  ['recipe as props object', () => node({ recipe: { name: 'x' } }), [N, 'recipe must be a GpuRecipe', 'got an object', 'Check the GpuNodeProps']],
  ['powerState as a string', () => node({ powerState: 'active' }), [N, 'powerState must be a PowerState', "got 'active'", 'Check']],
  ['tags as a string', () => node({ tags: 'gpu' }), [N, 'tags must be an array of strings', "got 'gpu'", 'Check']],
  ['tags with a number', () => node({ tags: ['a', 3] }), [N, 'tags must be an array of strings', 'got an array of 2', 'Check']],
  ['metadata with a number value', () => node({ metadata: { team: 7 } }), [N, 'metadata must be an object of string values', 'got an object', 'Check']],
  ['metadata as an array', () => node({ metadata: ['a'] }), [N, 'metadata must be an object of string values', 'got an array of 1', 'Check']],
  ['floatingIp as a string', () => node({ floatingIp: 'no' }), [N, 'floatingIp must be true or false', "got 'no'", 'Check']],
  ['rootVolumeSizeGiB as a string', () => node({ rootVolumeSizeGiB: '50' }), [N, 'rootVolumeSizeGiB must be a number', "got '50'", 'Check']],
  ['dataVolume without size', () => node({ dataVolume: {} }), [N, 'dataVolume needs sizeGiB for a new volume, or existingVolumeId to attach one that exists']],
  ['dataVolume with a typo', () => node({ dataVolume: { sizeGiB: 1, sizeGb: 2 } }), [N, 'dataVolume.sizeGb must be a prop of DataVolumeOptions', 'got 2', "Did you mean 'sizeGiB'?"]],
  ['dataVolume as a number', () => node({ dataVolume: 50 }), [N, 'dataVolume. must be an object of DataVolumeOptions', 'got 50', 'Pass { sizeGiB']],
  ['waitForReady as a string', () => node({ waitForReady: 'yes' }), [N, 'waitForReady must be true or false or a ReadyWaitOptions object', "got 'yes'", 'Check']],
  ['waitForReady with a typo', () => node({ waitForReady: { timeout: 5 } }), [N, 'waitForReady.timeout must be a prop of ReadyWaitOptions', 'got 5', 'Known props: timeoutMinutes']],
  ['preflight with a typo', () => node({ preflight: { quotas: false } }), [N, 'preflight.quotas must be a prop of PreflightOptions', 'got false', "Did you mean 'quota'?"]],
  ['preflight as a string', () => node({ preflight: 'off' }), [N, 'preflight must be true or false or a PreflightOptions object', "got 'off'", 'Check']],
  ['outputs unknown', () => node({ outputs: 'map' }), [N, 'outputs must be one of NodeOutputs.PER_NODE, NodeOutputs.STACK_MAP', "got 'map'", 'Use NodeOutputs.PER_NODE']],
  ['sshFrom with a CIDR string', () => node({ sshFrom: ['10.0.0.0/8'] }), [N, 'sshFrom must be an array of Peer', 'got an array of 1', 'Check']],
  ['securityGroups with a name', () => node({ securityGroups: ['default'] }), [N, 'securityGroups must be an array of ISecurityGroup', 'got an array of 1', 'Check']],
  ['keyPair as a name', () => node({ keyPair: 'alice' }), [N, 'keyPair must be a IKeyPair', "got 'alice'", 'Check']],
  ['image as a name', () => node({ image: 'Ubuntu 22.04' }), [N, 'image must be a INodeImage', "got 'Ubuntu 22.04'", 'Check']],
  ['cloudProfile as a name', () => node({ cloudProfile: 'hfd-netlab' }), [N, 'cloudProfile must be a CloudProfile', "got 'hfd-netlab'", 'Check']],
  ['availability zone with a space', () => node({ availabilityZone: 'nova 1' }), [N, 'availabilityZone must be 1-255 characters without whitespace', "got 'nova 1'", "openstack availability zone list"]],
  ['availability zone with a trailing newline', () => node({ availabilityZone: 'nova\n' }), [N, 'availabilityZone', "got 'nova\\u000a'", 'openstack availability zone list']],
  ['empty availability zone', () => node({ availabilityZone: '' }), [N, 'availabilityZone', "got ''", 'zone list']],
  ['data volume zone with a tab', () => node({ dataVolume: { sizeGiB: 1, availabilityZone: 'a\tb' } }), [N, 'dataVolume.availabilityZone', "got 'a\\u0009b'", 'zone list']],
  ['empty volume type', () => node({ dataVolume: { sizeGiB: 1, volumeType: '' } }), [N, 'dataVolume.volumeType must be a Cinder volume type name', "got ''", 'openstack volume type list']],
  ['metadata key with a slash', () => node({ metadata: { 'a/b': 'x' } }), [N, "metadata key must be 1-255 letters, digits, spaces, '-', '_', ':' or '.'", "got 'a/b'", 'Rename the key']],
  ['metadata key with template syntax', () => node({ metadata: { '${x}': 'x' } }), [N, 'metadata key', "got '${x}'", 'Rename the key']],
  ['empty metadata key', () => node({ metadata: { '': 'x' } }), [N, 'metadata key', "got ''", 'Rename the key']],
  ['metadata key of 256 characters', () => node({ metadata: { ['k'.repeat(256)]: 'x' } }), [N, 'metadata key', 'got \'kkk', 'Rename the key']],
  ['metadata key in the library prefix', () => node({ metadata: { gpu_node_recipe_key: 'forged' } }), [N, "metadata key must be a key outside the library's gpu_node_ prefix", "got 'gpu_node_recipe_key'", 'pick another name']],
  ['metadata value of 256 characters', () => node({ metadata: { a: 'v'.repeat(256) } }), [N, "metadata['a'] must be at most 255 characters", "got 'vvv", 'Shorten the value']],
  ['metadata value with a newline', () => node({ metadata: { a: 'x\ny' } }), [N, "metadata['a']", "got 'x\\u000ay'", 'Shorten the value or move it']],
  ['too many metadata items', () => node({ metadata: Object.fromEntries([...Array(123)].map((_, i) => [`k${i}`, 'v'])) }), [N, 'metadata must be at most 122 items', 'got 123', 'Move bulk data']],
  ['too many tags', () => node({ tags: [...Array(51)].map((_, i) => `t${i}`) }), [N, 'tags must be at most 50 tags', 'got 51', 'Drop some tags']],
  ['duplicate tags', () => node({ tags: ['gpu', 'gpu'] }), [N, 'tags must be distinct tags', "got 'gpu'", 'list each tag once']],
  ['empty tag', () => node({ tags: [''] }), [N, 'tags entry must be 1-60 characters', "got ''", 'Shorten or rename']],
  ['tag with a comma', () => node({ tags: ['a,b'] }), [N, 'tags entry', "got 'a,b'", 'Shorten or rename']],
  ['tag of 61 characters', () => node({ tags: ['t'.repeat(61)] }), [N, 'tags entry', "got 'ttt", 'Shorten or rename']],
  ['tag with a newline', () => node({ tags: ['a\nb'] }), [N, 'tags entry', "got 'a\\u000ab'", 'Shorten or rename']],
  ['rolloutToken of 256 characters', () => node({ rolloutToken: 'r'.repeat(256) }), [N, 'rolloutToken must be at most 255 characters', "got 'rrr", 'Use a short version']],
  ['lifetimeHours as a variable', () => { const s = stack(); return new GpuNode(s, 'Node', { flavor: GpuFlavor.of(GpuModel.T4, 1), network: GpuNetwork.forUser(s, 'Net', 'a'), cloudProfile: CloudProfile.HFD_NETLAB.withFlavor({ flavorName: 't4', model: GpuModel.T4, gpuCount: 1 }), lifetimeHours: new TerraformVariable(s, 'h', { type: 'number' }).numberValue }); },
    ['t/Node: lifetimeHours', 'token']],
  ['waitForReady timeout as a variable', () => node({ waitForReady: { timeoutMinutes: new TerraformVariable(stack(), 'm', { type: 'number' }).numberValue } }), [N, 'waitForReady.timeoutMinutes must be a plain value known at synth', 'got <unresolved token>', 'converted to seconds']],
  ['a node name with a control character', () => node({ nodeName: 'a\u0007b' }), [N, 'nodeName must be 1-255 printable characters', 'got']],
  ['a node name too long for its suffixes', () => node({ nodeName: 'n'.repeat(250) }), [N, 'nodeName must be at most 248 characters', "'-access' is appended", 'got 250 characters']],
  ['a data volume name with spaces around', () => node({ dataVolume: { sizeGiB: 1, volumeName: ' d ' } }), [N, 'dataVolume.volumeName must be 1-255 printable characters', "got ' d '"]],
];

const flavors: Case[] = [
  ['GpuFlavor.named without a count for an unlisted flavor', () => node({ flavor: GpuFlavor.named('g9.xlarge') }),
    [N, "gpuCount must be given for flavor 'g9.xlarge', which cloud profile 'hfd-netlab' does not list", 'got undefined', "GpuFlavor.named('g9.xlarge', { gpuCount: <GPUs it passes through> })"]],
  ['GpuFlavor.of with a count variable', () => GpuFlavor.of(GpuModel.T4, new TerraformVariable(stack(), 'c', { type: 'number' }).numberValue),
    ['GpuFlavor.of: count must be a plain value known at synth', 'got <unresolved token>', 'written into user_data', 'not a reference or a TerraformVariable']],
  ['GpuFlavor.named with a count variable', () => GpuFlavor.named('x', { gpuCount: new TerraformVariable(stack(), 'c', { type: 'number' }).numberValue }),
    ['GpuFlavor.named: gpuCount must be a plain value known at synth', 'got <unresolved token>', 'TerraformVariable']],
  ['GpuFlavor.of with a model name', () => GpuFlavor.of(any('T4'), 1), ['GpuFlavor.of: model must be a GpuModel', "got 'T4'", 'Pass a GpuModel constant']],
  ['GpuFlavor.of with a count string', () => GpuFlavor.of(GpuModel.T4, any('2')), ['GpuFlavor.of: count must be a number of GPUs', "got '2'", 'Pass e.g. 1']],
  ['GpuFlavor.named with a typo', () => GpuFlavor.named('x', any({ gpus: 2 })), ['GpuFlavor.named: gpus must be a prop of NamedGpuFlavorOptions', 'got 2', 'Known props: model, gpuCount']],
  ['GpuFlavor.named with a model string', () => GpuFlavor.named('x', any({ model: 'A100' })), ['GpuFlavor.named: model must be a GpuModel', "got 'A100'", 'Check']],
  ['GpuFlavor.named with a count string', () => GpuFlavor.named('x', any({ gpuCount: '2' })), ['GpuFlavor.named: gpuCount must be a number', "got '2'", 'Check']],
  ['GpuFlavor.named with a number', () => GpuFlavor.named(any(42)), ['GpuFlavor.named: flavorName must be a string', 'got 42', 'openstack flavor list']],
];

const software: Case[] = [
  ['CUDA newer than the driver', () => withRecipe({ nvidiaDriver: NvidiaDriver.R550_OPEN, cuda: CudaToolkit.V12_8 }),
    [N, 'recipe.nvidiaDriver must be driver branch 570 or newer for CUDA 12.8', 'got 550', 'Use NvidiaDriver.branch(570) or newer']],
  ['CUDA 13.0 on 570', () => withRecipe({ nvidiaDriver: NvidiaDriver.R570_OPEN, cuda: CudaToolkit.version('13.0') }), [N, 'driver branch 580 or newer for CUDA 13.0', 'got 570', 'NvidiaDriver.branch(580)']],
  ['CUDA 12.6 on 535', () => withRecipe({ nvidiaDriver: NvidiaDriver.branch(535, KernelModules.PROPRIETARY), cuda: CudaToolkit.V12_6 }), [N, 'driver branch 560 or newer for CUDA 12.6', 'got 535', 'NvidiaDriver.branch(560)']],
  ['CUDA 12.7 does not exist', () => withRecipe({ cuda: CudaToolkit.version('12.7') }), [N, 'recipe.cuda must be a CUDA version NVIDIA publishes', "got '12.7'", 'CudaToolkit.V12_8']],
  ['CUDA 10.2', () => withRecipe({ cuda: CudaToolkit.version('10.2') }), [N, 'recipe.cuda must be a CUDA version NVIDIA publishes', "got '10.2'", 'Pick one of those']],
  ['CUDA 12.4 on Ubuntu 24.04', () => withRecipe({ nvidiaDriver: NvidiaDriver.R570_OPEN, cuda: CudaToolkit.V12_4 }, { image: NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04) }),
    [N, "recipe.cuda must be a CUDA version NVIDIA's repository has for Ubuntu 24.04 (12.5, 12.6", "got '12.4'", 'boot another Ubuntu release']],
  ['CUDA 11.8 on Ubuntu 24.04 by image name', () => withRecipe({ nvidiaDriver: NvidiaDriver.R570_OPEN, cuda: CudaToolkit.version('11.8') }, { image: NodeImage.fromName('ubuntu-24.04-server') }),
    [N, 'for Ubuntu 24.04', "got '11.8'", 'Pick one of those']],
  ['a nonexistent branch', () => withRecipe({ nvidiaDriver: NvidiaDriver.branch(540), cuda: CudaToolkit.V12_4 }), [N, 'recipe.nvidiaDriver must be a released driver branch', 'got 540', 'NVIDIA has no branch 540']],
  ['branch 571', () => withRecipe({ nvidiaDriver: NvidiaDriver.branch(571) }), [N, 'released driver branch', 'got 571', 'NvidiaDriver.R580_OPEN']],
  ['Blackwell with an old branch', () => node({ flavor: GpuFlavor.named('b200', { model: model({ id: 'B200', architecture: GpuArchitecture.BLACKWELL, computeCapability: '10.0', dataCenter: true }), gpuCount: 8 }), recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(550), cuda: CudaToolkit.V12_4 }) }),
    [N, 'recipe.nvidiaDriver must be driver branch 570 or newer for B200 (Blackwell)', 'got 550', 'NvidiaDriver.branch(570)']],
  ['Ada with branch 520', () => node({ flavor: GpuFlavor.named('l4', { model: GpuModel.L4, gpuCount: 1 }), recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(520, KernelModules.PROPRIETARY), cuda: CudaToolkit.version('11.8') }) }),
    [N, 'driver branch 525 or newer for L4 (Ada Lovelace)', 'got 520', 'NvidiaDriver.branch(570)']],
  ['Volta after its last branch', () => node({ flavor: GpuFlavor.named('v', { model: GpuModel.V100, gpuCount: 1 }), recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(590, KernelModules.PROPRIETARY), installCuda: false }) }),
    [N, 'driver branch 580 or older for V100 (Volta', 'got 590', 'KernelModules.PROPRIETARY']],
  ['CUDA 13 on Volta (dropped by CUDA 13)', () => node({ flavor: GpuFlavor.named('v', { model: GpuModel.V100, gpuCount: 1 }), recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(580, KernelModules.PROPRIETARY), cuda: CudaToolkit.version('13.0') }) }),
    [N, 'recipe.cuda must be CUDA 12.x for V100 (Volta): CUDA 12.x is the last that supports Volta', "got '13.0'", "CudaToolkit.version('12.9')"]],
  ['CUDA too new on a snapshot builder', () => snapshot({ recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.R535_OPEN, cuda: CudaToolkit.V12_8 }) }),
    ['t/Image: recipe.nvidiaDriver must be driver branch 570 or newer for CUDA 12.8', 'got 535', 'NvidiaDriver.branch(570)']],
  ['NvidiaDriver.branch below 450', () => NvidiaDriver.branch(42), ['NvidiaDriver: branch must be a driver branch', 'got 42']],
  ['CudaToolkit.version malformed', () => CudaToolkit.version('12'), ["CudaToolkit: version must look like '12.8'", "got '12'"]],
];

const recipes: Case[] = [
  ['recipe props with a typo', () => recipe({ package: ['htop'] }), [R, 'package must be a prop of GpuRecipeProps', 'got an array of 1', "Did you mean 'packages'?"]],
  ['packages as a string', () => recipe({ packages: 'htop' }), [R, 'packages must be an array of strings', "got 'htop'", 'Check']],
  ['commands as a string', () => recipe({ commands: 'echo hi' }), [R, 'commands must be an array of strings', "got 'echo hi'", 'Check']],
  ['nvidiaDriver as a number', () => recipe({ nvidiaDriver: 570 }), [R, 'nvidiaDriver must be a NvidiaDriver', 'got 570', 'Check']],
  ['cuda as a string', () => recipe({ cuda: '12.8' }), [R, 'cuda must be a CudaToolkit', "got '12.8'", 'Check']],
  ['burnInSeconds as a string', () => recipe({ burnInSeconds: '600' }), [R, 'burnInSeconds must be a number', "got '600'", 'Check']],
  ['a file without content', () => recipe({ files: [{ path: '/etc/a' }] }), [R, 'files[0].content must be given (a string)', 'got undefined', 'required in RecipeFile']],
  ['a file with a typo', () => recipe({ files: [{ path: '/etc/a', content: '', mode: '0600' }] }), [R, 'files[0].mode must be a prop of RecipeFile', "got '0600'", 'Known props: path, content, permissions, owner']],
  ['duplicate file paths', () => recipe({ files: [{ path: '/etc/a', content: '1' }, { path: '/etc/a', content: '2' }] }), [R, 'files must be files with distinct paths', "got '/etc/a'", 'Merge the contents']],
  ['a directory path', () => recipe({ files: [{ path: '/etc/app/', content: 'x' }] }), [R, 'file path must be the path of a file, not a directory', "got '/etc/app/'", 'Name the file']],
  ['a file over the library runner', () => recipe({ files: [{ path: '/opt/gpu-node/bin/gpu-node-run', content: 'x' }] }), [R, 'file path must be outside /opt/gpu-node/ and /etc/gpu-node/', "got '/opt/gpu-node/bin/gpu-node-run'", "recipe's own scripts"]],
  ['a file over the recipe settings', () => recipe({ files: [{ path: '/etc/gpu-node/recipe.env', content: 'x' }] }), [R, 'file path must be outside', "got '/etc/gpu-node/recipe.env'", 'write your file elsewhere']],
  ['a path with a newline', () => recipe({ files: [{ path: '/etc/a\nb', content: 'x' }] }), [R, 'file path must be a path without control characters', "got '/etc/a\\u000ab'", 'Fix the path']],
  ['binary content', () => recipe({ files: [{ path: '/etc/a', content: 'ELF\u0000\u0001' }] }), [R, 'content of /etc/a must be text, not binary', 'got \'<binary content>\'', 'download binary files in a command']],
  ['content decoded from binary', () => recipe({ files: [{ path: '/etc/a', content: Buffer.from([0xff, 0xfe, 0x41]).toString('utf8') }] }), [R, 'content of /etc/a must be text', 'binary content', 'Read text files as UTF-8']],
  ['a lone surrogate', () => recipe({ files: [{ path: '/etc/a', content: 'x\ud800y' }] }), [R, 'content of /etc/a must be valid Unicode text', 'invalid Unicode', 'Decode the file as UTF-8']],
  ['a command with a lone surrogate', () => recipe({ commands: ['echo \udc00'] }), [R, 'commands entry must be valid Unicode text', 'invalid text', 'Fix the command']],
  ['a command with an unclosed quote', () => recipe({ commands: ["echo 'hi"] }), [R, 'commands must be valid bash (bash -n)', "got \"echo 'hi\"".replace(/"/g, "'").replace("''hi'", "'echo 'hi'"), 'bash says:']],
  ['an unclosed if', () => recipe({ commands: ['if true; then', 'echo x'] }), [R, 'commands must be valid bash (bash -n)', 'got \'2 commands\'', 'bash says: syntax error']],
  ['a stray fi', () => recipe({ commands: ['fi'] }), [R, 'commands must be valid bash', "got 'fi'", 'bash says:']],
  ['a second NVIDIA driver', () => recipe({ packages: ['nvidia-driver-550'] }), [R, 'packages entry must be a package that brings no NVIDIA driver of its own', "got 'nvidia-driver-550'", 'choose NvidiaDriver.branch']],
  ['cuda-drivers', () => recipe({ packages: ['cuda-drivers'] }), [R, 'packages entry', "got 'cuda-drivers'", 'NvidiaDriver.branch']],
  ['nvidia-dkms', () => recipe({ packages: ['nvidia-dkms-535'] }), [R, 'packages entry', "got 'nvidia-dkms-535'", 'NvidiaDriver.branch']],
  ['nvidia-headless', () => recipe({ packages: ['nvidia-headless-570-server'] }), [R, 'packages entry', "got 'nvidia-headless-570-server'", 'NvidiaDriver.branch']],
  ['libnvidia-compute', () => recipe({ packages: ['libnvidia-compute-570'] }), [R, 'packages entry', "got 'libnvidia-compute-570'", 'NvidiaDriver.branch']],
  ['a package name with a space', () => recipe({ packages: ['python3 pip'] }), [R, "'python3 pip' is not an apt package name", "e.g. 'htop'"]],
  ['a recipe name with spaces', () => recipe({ name: 'My Recipe' }), ['GpuRecipe My Recipe: name must be 1-63 lower-case letters', "got 'My Recipe'"]],
  ['commands with a variable', () => recipe({ commands: [new TerraformVariable(stack(), 'c', {}).stringValue] }), [R, 'commands must be a plain value known at synth', 'a token cannot be used here because', 'user_data']],
  ['a relative path', () => recipe({ files: [{ path: 'etc/a', content: 'x' }] }), [R, 'file path must be absolute', "got 'etc/a'"]],
  ['a bad owner', () => recipe({ files: [{ path: '/etc/a', content: 'x', owner: 'Root' }] }), [R, "owner of /etc/a must look like 'ubuntu:ubuntu'", "got 'Root'"]],
];

const network: Case[] = [
  ['a /30 subnet', () => new GpuNetwork(stack(), 'Net2', { cidr: '10.0.0.0/30' }), ['t/Net2: cidr must be a block of /29 or larger', "got '10.0.0.0/30'", "'10.42.0.0/24'"]],
  ['a /32 subnet', () => new GpuNetwork(stack(), 'Net2', { cidr: '10.0.0.1/32' }), ['t/Net2: cidr must be a block of /29 or larger', "got '10.0.0.1/32'", 'Use a larger block']],
  ['six DNS servers', () => new GpuNetwork(stack(), 'Net2', { dnsNameservers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4', '9.9.9.9', '149.112.112.112'] }), ['t/Net2: dnsNameservers must be at most 5 servers', 'got 6', 'List fewer servers']],
  ['duplicate DNS servers', () => new GpuNetwork(stack(), 'Net2', { dnsNameservers: ['9.9.9.9', '9.9.9.9'] }), ['t/Net2: dnsNameservers must be distinct addresses', "got '9.9.9.9'", 'list each server once']],
  ['dnsNameservers as a string', () => new GpuNetwork(stack(), 'Net2', any({ dnsNameservers: '9.9.9.9' })), ['t/Net2: dnsNameservers must be an array of strings', "got '9.9.9.9'", 'Check the GpuNetworkProps']],
  ['a typo in GpuNetworkProps', () => new GpuNetwork(stack(), 'Net2', any({ cidrBlock: '10.0.0.0/24' })), ['t/Net2: cidrBlock must be a prop of GpuNetworkProps', "got '10.0.0.0/24'", 'Known props: networkName, cidr']],
  ['router as a string', () => new GpuNetwork(stack(), 'Net2', any({ router: 'yes' })), ['t/Net2: router must be true or false', "got 'yes'", 'Check']],
  ['ingress without port', () => new GpuNetwork(stack(), 'Net2', any({ ingress: [{ peers: [Peer.anyIpv4()] }] })), ['t/Net2: ingress[0].port must be given (a Port)', 'got undefined', 'required in IngressRule']],
  ['ingress port as a number', () => new GpuNetwork(stack(), 'Net2', any({ ingress: [{ port: 8888 }] })), ['t/Net2: ingress[0].port must be a Port', 'got 8888', 'Check the IngressRule']],
  ['ingress with the 0.1 name of peers', () => new GpuNetwork(stack(), 'Net2', any({ ingress: [{ port: Port.JUPYTER, from: [] }] })), ['t/Net2: ingress[0].from must be a prop of IngressRule', 'got an array of 0', 'Known props: port, peers']],
  ['fromName with options typo', () => GpuNetwork.fromName(stack(), 'N', 'net', any({ subnet: 'a' })), ['t/N: subnet must be a prop of ExistingNetworkOptions', "got 'a'", 'Known props: subnetName']],
  ['fromName with a number', () => GpuNetwork.fromName(stack(), 'N', any(7)), ['t/N: networkName must be a string', 'got number', "Pass the network's name"]],
  ['forUser with a space', () => GpuNetwork.forUser(stack(), 'N', 'al ice'), ['t/N: user must be an OpenStack user name', "got 'al ice'"]],
  ['an IPv6 CIDR for the subnet', () => new GpuNetwork(stack(), 'Net2', { cidr: 'fd00::/64' }), ["t/Net2: cidr 'fd00::/64' is not an IPv4 CIDR block", "'10.42.0.0/24'"]],
  ['a DNS name instead of an address', () => new GpuNetwork(stack(), 'Net2', { dnsNameservers: ['dns.google'] }), ['t/Net2: dnsNameservers must be IP addresses', "got 'dns.google'"]],
];

const securityGroup: Case[] = [
  ['description of 256 characters', () => new SecurityGroup(stack(), 'Sg', { description: 'd'.repeat(256) }), ['t/Sg: description must be at most 255 characters', "got 'ddd", 'Shorten the description']],
  ['description with a newline', () => new SecurityGroup(stack(), 'Sg', { description: 'a\nb' }), ['t/Sg: description', "got 'a\\u000ab'", 'Shorten']],
  ['a typo in SecurityGroupProps', () => new SecurityGroup(stack(), 'Sg', any({ sshfrom: [] })), ['t/Sg: sshfrom must be a prop of SecurityGroupProps', 'got an array of 0', "Did you mean 'sshFrom'?"]],
  ['allowIcmp as a string', () => new SecurityGroup(stack(), 'Sg', any({ allowIcmp: 'false' })), ['t/Sg: allowIcmp must be true or false', "got 'false'", 'Check']],
  ['a peer with host bits', () => new SecurityGroup(stack(), 'Sg', { sshFrom: [Peer.ipv4('10.0.0.1/8')] }), ["t/Sg: '10.0.0.1/8' is not an IPv4 CIDR block", "Peer.ipv4('10.0.0.0/8')"]],
  ['a peer of the wrong family', () => new SecurityGroup(stack(), 'Sg', { sshFrom: [Peer.ipv6('10.0.0.0/8')] }), ["t/Sg: '10.0.0.0/8' is not an IPv6 CIDR block", "Peer.ipv6('2001:db8::/32')"]],
  ['port 0', () => new SecurityGroup(stack(), 'Sg', { sshFrom: [Peer.anyIpv4()], ingress: [{ port: Port.tcp(0) }] }), ['t/Sg: port range 0-0 is invalid', 'from 1 to 65535']],
  ['port range reversed', () => new SecurityGroup(stack(), 'Sg', { sshFrom: [Peer.anyIpv4()], ingress: [{ port: Port.tcpRange(9000, 8000) }] }), ['t/Sg: port range 9000-8000 is invalid', 'lowest first']],
  ['Peer.ipv4 with a number', () => Peer.ipv4(any(10)), ['Peer.ipv4: cidr must be a string', 'got 10', "Peer.ipv4('10.0.0.0/8')"]],
  ['Peer.ipv6 with undefined', () => Peer.ipv6(any(undefined)), ['Peer.ipv6: cidr must be a string', 'got undefined', "Peer.ipv6('2001:db8::/32')"]],
  ['ingress with no peers', () => new SecurityGroup(stack(), 'Sg', { ingress: [{ port: Port.HTTPS }] }), ['t/Sg: ingress rule tcp/443 has no peers', "give it 'peers'"]],
];

const keyPair: Case[] = [
  ['a keypair name with a slash', () => new KeyPair(stack(), 'Key', { keyPairName: 'a/b', publicKey: KEY }), ["t/Key: keyPairName must be 1-255 letters, digits, spaces, '_', '-', '.' or '@'", "got 'a/b'", 'Rename the keypair']],
  ['a keypair name with template syntax', () => new KeyPair(stack(), 'Key', { keyPairName: '${x}', publicKey: KEY }), ['t/Key: keyPairName', "got '${x}'", 'Rename the keypair']],
  ['two keypairs of one name', () => { const s = stack(); new KeyPair(s, 'A', { keyPairName: 'k', publicKey: KEY }); return new KeyPair(s, 'B', { keyPairName: 'k', publicKey: KEY }); },
    ['t/B: keyPairName must be unique in the stack (t/A already creates it)', "got 'k'", 'Give one of the keypairs another keyPairName']],
  ['a truncated ed25519 key', () => new KeyPair(stack(), 'Key', { publicKey: `ssh-ed25519 ${keyBody([Buffer.from('ssh-ed25519'), Buffer.alloc(31, 1)])}` }), ['t/Key: publicKey must be a complete ssh-ed25519 key', 'holds a 31-byte key instead of 32', 'ssh-keygen -t ed25519']],
  ['an ed25519 key with trailing data', () => new KeyPair(stack(), 'Key', { publicKey: `ssh-ed25519 ${keyBody([Buffer.from('ssh-ed25519'), Buffer.alloc(32, 1), Buffer.from('x')])}` }), ['t/Key: publicKey must be a complete ssh-ed25519 key', 'has 3 fields instead of 2', 'ssh-keygen']],
  ['a cut-off key body', () => new KeyPair(stack(), 'Key', { publicKey: KEY.split(' ').slice(0, 2).join(' ').slice(0, 60) }), ['t/Key: publicKey', 'ssh-keygen -t ed25519']],
  ['an RSA key of 512 bits', () => new KeyPair(stack(), 'Key', { publicKey: `ssh-rsa ${keyBody([Buffer.from('ssh-rsa'), Buffer.from([1, 0, 1]), Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 0xff)])])}` }), ['t/Key: publicKey must be a complete ssh-rsa key', 'has a 512-bit modulus', 'make a new key']],
  ['an RSA key without modulus', () => new KeyPair(stack(), 'Key', { publicKey: `ssh-rsa ${keyBody([Buffer.from('ssh-rsa'), Buffer.from([1, 0, 1])])}` }), ['t/Key: publicKey must be a complete ssh-rsa key', 'has 2 fields instead of 3', 'ssh-keygen']],
  ['an ECDSA key of the wrong curve', () => new KeyPair(stack(), 'Key', { publicKey: `ecdsa-sha2-nistp256 ${keyBody([Buffer.from('ecdsa-sha2-nistp256'), Buffer.from('nistp384'), Buffer.alloc(65, 4)])}` }), ["t/Key: publicKey must be a complete ecdsa-sha2-nistp256 key", "names the curve 'nistp384' instead of 'nistp256'", 'ssh-keygen']],
  ['a key whose body ends in a length field', () => new KeyPair(stack(), 'Key', { publicKey: `ssh-ed25519 ${Buffer.concat([Buffer.from(keyBody([Buffer.from('ssh-ed25519')]), 'base64'), Buffer.from([0, 0])]).toString('base64')}` }), ['t/Key: publicKey must be a complete ssh-ed25519 key', 'ends inside a length field', 'ssh-keygen']],
  ['a type that does not match the body', () => new KeyPair(stack(), 'Key', { publicKey: KEY.replace('ssh-ed25519', 'ssh-rsa') }), ["t/Key: publicKey says 'ssh-rsa' but its data is 'ssh-ed25519'", 'ssh-keygen']],
  ['a private key', () => new KeyPair(stack(), 'Key', { publicKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----' }), ['t/Key: publicKey is a PRIVATE key', 'never put it in code']],
  ['a typo in KeyPairProps', () => new KeyPair(stack(), 'Key', any({ publickey: KEY })), ['t/Key: publickey must be a prop of KeyPairProps', "got 'ssh-ed25519", "Did you mean 'publicKey'?"]],
  ['publicKey as a Buffer', () => new KeyPair(stack(), 'Key', any({ publicKey: Buffer.from(KEY) })), ['t/Key: publicKey must be a string', 'got a Buffer', 'Check the KeyPairProps']],
  ['both key sources', () => new KeyPair(stack(), 'Key', { publicKey: KEY, publicKeyFile: '/x.pub' }), ['t/Key: give publicKey or publicKeyFile, not both']],
  ['a missing key file', () => new KeyPair(stack(), 'Key', { publicKeyFile: '/nonexistent/id.pub' }), ["t/Key: publicKeyFile '/nonexistent/id.pub' does not exist", 'ssh-keygen -t ed25519']],
];

const snapshots: Case[] = [
  ['visibility in capitals', () => snapshot({ visibility: 'PUBLIC' }), ['t/Image: visibility must be one of ImageVisibility.PRIVATE', "got 'PUBLIC'", 'Use ImageVisibility.PRIVATE']],
  ['a typo in SnapshotImageProps', () => snapshot({ timeout: 30 }), ['t/Image: timeout must be a prop of SnapshotImageProps', 'got 30', 'Known props: recipe']],
  ['missing recipe', () => snapshot({ recipe: undefined }), ['t/Image: recipe must be given (a GpuRecipe)', 'got undefined', 'required in SnapshotImageProps']],
  ['recipe as props', () => snapshot({ recipe: { name: 'x' } }), ['t/Image: recipe must be a GpuRecipe', 'got an object', 'Check the SnapshotImageProps']],
  ['tags as a string', () => snapshot({ tags: 'a' }), ['t/Image: tags must be an array of strings', "got 'a'", 'Check']],
  ['tag with a slash', () => snapshot({ tags: ['a/b'] }), ['t/Image: tags entry must be 1-255 characters', "got 'a/b'", 'Rename the tag']],
  ['empty tag', () => snapshot({ tags: [''] }), ['t/Image: tags entry', "got ''", 'Rename the tag']],
  ['a cloud with a space', () => snapshot({ cloud: 'my cloud' }), ["t/Image: cloud must be a clouds.yaml entry name", "got 'my cloud'"]],
  ['a short timeout', () => snapshot({ timeoutMinutes: 1 }), ['t/Image: timeoutMinutes must be a whole number from 5 to 1440', 'got 1']],
  ['an image name too long for the builder', () => snapshot({ imageName: 'i'.repeat(248) }), ["t/Image: imageName must be at most 247 characters, as '-builder' is appended", "got 'iii", 'Shorten the name']],
  ['a timeout variable', () => snapshot({ timeoutMinutes: new TerraformVariable(stack(), 'm', { type: 'number' }).numberValue }), ['t/Image: timeoutMinutes must be a plain value known at synth', 'got <unresolved token>', 'converted to seconds at synth']],
  ['an image name with spaces around', () => snapshot({ imageName: ' img' }), ['t/Image: imageName must be 1-255 printable characters', "got ' img'"]],
];

const profiles: Case[] = [
  ['duplicate flavor names', () => profile({ flavors: [{ flavorName: 'f', model: GpuModel.T4, gpuCount: 1 }, { flavorName: 'f', model: GpuModel.L4, gpuCount: 1 }] }), [P, 'flavors must be flavors with distinct names', "got 'f'", 'List each flavor once']],
  ['an empty flavor name', () => profile({ flavors: [{ flavorName: '', model: GpuModel.T4, gpuCount: 1 }] }), [P, 'flavorName must be 1-255 letters', "got ''", 'openstack flavor list']],
  ['a flavor name with a space', () => profile({ flavors: [{ flavorName: 'g1 x', model: GpuModel.T4, gpuCount: 1 }] }), [P, 'flavorName', "got 'g1 x'", 'openstack flavor list']],
  ['a flavor without model', () => profile({ flavors: [{ flavorName: 'f', gpuCount: 1 }] }), [P, 'flavors[0].model must be given (a GpuModel)', 'got undefined', 'required in GpuFlavorSpec']],
  ['a flavor model as a string', () => profile({ flavors: [{ flavorName: 'f', model: 'T4', gpuCount: 1 }] }), [P, 'flavors[0].model must be a GpuModel', "got 'T4'", 'Check the GpuFlavorSpec']],
  ['a flavor count as a string', () => profile({ flavors: [{ flavorName: 'f', model: GpuModel.T4, gpuCount: '1' }] }), [P, 'flavors[0].gpuCount must be a number', "got '1'", 'Check']],
  ['a flavor with a typo', () => profile({ flavors: [{ flavorName: 'f', model: GpuModel.T4, gpus: 1 }] }), [P, 'flavors[0].gpus must be a prop of GpuFlavorSpec', 'got 1', 'Known props: flavorName, model, gpuCount']],
  ['an empty image name', () => profile({ ubuntuImages: [{ release: UbuntuRelease.JAMMY_22_04, imageName: '' }] }), [P, 'imageName of Ubuntu 22.04 must be 1-255 printable characters', "got ''", 'openstack image list']],
  ['a blank image name', () => profile({ ubuntuImages: [{ release: UbuntuRelease.JAMMY_22_04, imageName: '   ' }] }), [P, 'imageName of Ubuntu 22.04', "got '   '", 'openstack image list']],
  ['an image name with a newline', () => profile({ ubuntuImages: [{ release: UbuntuRelease.NOBLE_24_04, imageName: 'a\nb' }] }), [P, 'imageName of Ubuntu 24.04', "got 'a\\u000ab'", 'openstack image list']],
  ['withUbuntuImage with an empty name', () => CloudProfile.HFD_NETLAB.withUbuntuImage(UbuntuRelease.JAMMY_22_04, ''), ['CloudProfile hfd-netlab: imageName of Ubuntu 22.04', "got ''", 'openstack image list']],
  ['an unknown release', () => profile({ ubuntuImages: [{ release: '20.04', imageName: 'focal' }] }), [P, 'ubuntuImages release must be one of UbuntuRelease.JAMMY_22_04, UbuntuRelease.NOBLE_24_04', "got '20.04'", 'Use UbuntuRelease.JAMMY_22_04']],
  ['two images for one release', () => profile({ ubuntuImages: [{ release: UbuntuRelease.JAMMY_22_04, imageName: 'a' }, { release: UbuntuRelease.JAMMY_22_04, imageName: 'b' }] }), [P, 'ubuntuImages must be one image per release', "got '22.04'", 'List each release once']],
  ['a login user with capitals', () => profile({ loginUser: 'Ubuntu' }), [P, 'loginUser must be a Unix user name', "got 'Ubuntu'", "e.g. 'ubuntu'"]],
  ['a login user with a space', () => profile({ loginUser: 'ub untu' }), [P, 'loginUser', "got 'ub untu'", "e.g. 'ubuntu'"]],
  ['a login user with shell syntax', () => profile({ loginUser: 'x;reboot' }), [P, 'loginUser', "got 'x;reboot'", "e.g. 'ubuntu'"]],
  ['a login user of 33 characters', () => profile({ loginUser: 'u'.repeat(33) }), [P, 'loginUser', "got 'uuu", "e.g. 'ubuntu'"]],
  ['an empty login user', () => profile({ loginUser: '' }), [P, 'loginUser', "got ''", "e.g. 'ubuntu'"]],
  ['a network pattern without {user}', () => profile({ userNetworkPattern: 'shared-net' }), [P, "userNetworkPattern must be a name pattern with '{user}' in it", "got 'shared-net'", "'{user}-net'"]],
  ['an external network with a trailing space', () => profile({ externalNetworkName: 'public ' }), [P, 'externalNetworkName must be 1-255 characters without leading or trailing spaces', "got 'public '", 'openstack network list --external']],
  ['withExternalNetwork empty', () => CloudProfile.HFD_NETLAB.withExternalNetwork(''), ['CloudProfile hfd-netlab: externalNetworkName', "got ''", '--external']],
  ['a login user variable', () => profile({ loginUser: new TerraformVariable(stack(), 'u', {}).stringValue }), [P, 'loginUser must be a plain value known at synth', 'got <unresolved token>', 'written into user_data']],
  ['a flavor count variable', () => profile({ flavors: [{ flavorName: 'f', model: GpuModel.T4, gpuCount: new TerraformVariable(stack(), 'c', { type: 'number' }).numberValue }] }), [P, 'gpuCount of flavor f must be a plain value known at synth', 'got <unresolved token>', 'readiness check']],
  ['a typo in CloudProfileProps', () => profile({ flavours: [] }), [P, 'flavours must be a prop of CloudProfileProps', 'got an array of 0', "Did you mean 'flavors'?"]],
  ['maxLifetimeHours as a string', () => profile({ maxLifetimeHours: '168' }), [P, 'maxLifetimeHours must be a number', "got '168'", 'Check the CloudProfileProps']],
  ['profile name missing', () => CloudProfile.custom(any({})), ['CloudProfile: name must be given (a string)', 'got undefined', 'required in CloudProfileProps']],
  ['withFlavor with a duplicate in spirit', () => CloudProfile.HFD_NETLAB.withFlavor(any({ flavorName: 'x', model: GpuModel.T4 })), ['CloudProfile hfd-netlab: flavors[5].gpuCount must be given (a number)', 'got undefined', 'required in GpuFlavorSpec']],
];

const models: Case[] = [
  ['an unknown architecture', () => model({ architecture: 'Rubin' }), ['GpuModel X: architecture must be one of GpuArchitecture.PASCAL', "got 'Rubin'", 'Use GpuArchitecture.PASCAL']],
  ['an architecture in capitals', () => model({ architecture: 'AMPERE' }), ['GpuModel X: architecture', "got 'AMPERE'", 'GpuArchitecture.PASCAL']],
  ['memory of 0', () => model({ memoryGiB: 0 }), ['GpuModel X: memoryGiB must be a number above 0', 'got 0', 'e.g. 24']],
  ['memory as a string', () => model({ memoryGiB: '24' }), ['GpuModel X: memoryGiB must be a number', "got '24'", 'Check the GpuModelProps']],
  ['a product name with a quote', () => model({ productName: "NVIDIA 'X'" }), ['GpuModel X: productName must be the name nvidia-smi reports', "got 'NVIDIA 'X''", "'NVIDIA L4'"]],
  ['an empty product name', () => model({ productName: '' }), ['GpuModel X: productName', "got ''", "'NVIDIA L4'"]],
  ['an empty nvidia-smi match', () => model({ nvidiaSmiMatch: ' ' }), ['GpuModel X: nvidiaSmiMatch must be a non-empty text', "got ' '", "'A100'"]],
  ['a product name variable', () => model({ productName: new TerraformVariable(stack(), 'p', {}).stringValue }), ['GpuModel X: productName must be a plain value known at synth', 'got <unresolved token>', 'readiness check']],
  ['a typo in GpuModelProps', () => model({ memoryGb: 8 }), ['GpuModel X: memoryGb must be a prop of GpuModelProps', 'got 8', "Did you mean 'memoryGiB'?"]],
  ['a model id with a dash', () => model({ id: 'RTX-5090' }), ["GpuModel: id must be letters, digits and '_'", "got 'RTX-5090'"]],
  ['a compute capability without minor', () => model({ computeCapability: '9' }), ["GpuModel X: computeCapability must look like '7.5'", "got '9'"]],
];

const factories: Case[] = [
  ['PowerState.of unknown', () => PowerState.of('running'), ["PowerState: 'running' is not a power state", 'PowerState.RUNNING']],
  ['PowerState.of a number', () => PowerState.of(any(1)), ["PowerState: '1' is not a power state", 'PowerState.RUNNING']],
  ['NodeImage.fromName empty', () => NodeImage.fromName(''), ["NodeImage.fromName: the image name must be 1-255 characters, got ''"]],
  ['NodeImage.fromName blank', () => NodeImage.fromName('  '), ['NodeImage.fromName: the image name must be 1-255 characters', "got '  '"]],
  ['NodeImage.fromName with a newline', () => NodeImage.fromName('a\nb'), ['NodeImage.fromName: the image name must be 1-255 characters']],
  ['NodeImage.fromName with a number', () => NodeImage.fromName(any(5)), ['NodeImage.fromName: the image name must be 1-255 characters', 'got \'5\'']],
  ['NodeImage.fromId with a name', () => NodeImage.fromId('ubuntu'), ["NodeImage.fromId: 'ubuntu' is not an image UUID", 'NodeImage.fromName()']],
  ['NodeImage.fromId with a number', () => NodeImage.fromId(any(5)), ["NodeImage.fromId: '5' is not an image UUID"]],
  ['NodeImage.ubuntu with an unknown release', () => NodeImage.ubuntu(any('20.04')), ['NodeImage.ubuntu: release must be one of UbuntuRelease.JAMMY_22_04', "got '20.04'", 'Use UbuntuRelease.JAMMY_22_04']],
  ['NodeImage.fromRecipe without baseImage', () => NodeImage.fromRecipe(new GpuRecipe(), any({})), ['NodeImage.fromRecipe: baseImage must be given (a INodeImage', 'got undefined', 'required in RecipeImageOptions']],
  ['NodeImage.fromRecipe with a typo', () => NodeImage.fromRecipe(new GpuRecipe(), any({ baseImage: NodeImage.ubuntu(), visiblity: 'public' })), ['NodeImage.fromRecipe: visiblity must be a prop of RecipeImageOptions', "got 'public'", "Did you mean 'visibility'?"]],
];

const all: { [construct: string]: Case[] } = {
  GpuNode: gpuNode, GpuFlavor: flavors, 'software matrix': software, GpuRecipe: recipes, GpuNetwork: network,
  SecurityGroup: securityGroup, KeyPair: keyPair, SnapshotImage: snapshots, CloudProfile: profiles, GpuModel: models, factories,
};

test('the table has at least 150 cases', () => {
  const counts = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length]));
  console.log(`bad-input cases by construct: ${JSON.stringify(counts)}`);
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(150);
});

for (const [construct, cases] of Object.entries(all)) {
  describe(construct, () => {
    test.each(cases)('%s', (_name, build, parts) => {
      expect(build).toThrow(inOrder(...parts));
    });
  });
}

// Values that must never be refused, and tokens where Terraform resolves the value.
describe('valid edge cases and tokens synthesize and pass both offline checks', () => {
  test('one stack of edge cases', () => {
    const { dir, json } = synthToDir((app: App) => {
      const s = new TerraformStack(app, 'edges');
      new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
      const cidr = new TerraformVariable(s, 'ssh_cidr', { type: 'string', default: '10.0.0.0/8' });
      const port = new TerraformVariable(s, 'port', { type: 'number', default: 8888 });
      const zone = new TerraformVariable(s, 'zone', { type: 'string', default: 'nova' });
      const dns = new TerraformVariable(s, 'dns', { type: 'list(string)', default: ['9.9.9.9'] });
      const net = new GpuNetwork(s, 'Net', {
        cidr: '10.50.0.0/29', dnsNameservers: dns.listValue,
        sshFrom: [Peer.ipv4(cidr.stringValue), Peer.ipv6('2001:db8::/32')], ingress: [{ port: Port.tcp(port.numberValue) }, { port: Port.tcpRange(1, 65535) }],
      });
      const key = new KeyPair(s, 'Key', { keyPairName: 'alice laptop@home.v2', publicKey: KEY });
      new GpuNode(s, 'Node', {
        flavor: GpuFlavor.named('g9.custom', { gpuCount: 3 }), network: net, keyPair: key,
        availabilityZone: zone.stringValue, nodeName: 'n'.repeat(248), tags: ['t'.repeat(60), 'ä-ü'],
        metadata: { 'a key: with.dots-and_under': 'v'.repeat(255), empty: '' }, lifetimeHours: 1, lifetimeWarningHours: 0,
        recipe: new GpuRecipe({ name: 'edge', nvidiaDriver: NvidiaDriver.R580_OPEN, cuda: CudaToolkit.version('13.0'), commands: ['echo "${HOME}" %{x}'],
          files: [{ path: '/etc/app/ünïcode.txt', content: 'emoji 🚀 and ${not_terraform}' }] }),
        dataVolume: { sizeGiB: 1, removalPolicy: VolumeRemovalPolicy.DESTROY, volumeName: 'd'.repeat(255) },
        outputs: NodeOutputs.STACK_MAP, powerState: PowerState.RUNNING,
      });
      return s;
    });
    const server = Object.values<any>(json.resource.openstack_compute_instance_v2)[0];
    expect(server.availability_zone).toBe('${var.zone}');
    expect(server.tags).toEqual(['t'.repeat(60), 'ä-ü']);
    const rules = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2);
    expect(rules.map((r) => r.remote_ip_prefix)).toContain('${var.ssh_cidr}');
    expect(rules.map((r) => r.port_range_min)).toContain('${var.port}');
    expect(JSON.stringify(json)).not.toMatch(/TfToken|e\+\d{3}/);
    expectStackPassesChecks(withQuotaInDir(dir));
  });
});
