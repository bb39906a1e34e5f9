// One validation call per public constructor: props shape (validation-props.ts), then the
// value rules that the cloud or the node would otherwise find much later.
import { spawnSync } from 'child_process';
import { TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { CloudProfileProps } from '../constructs/cloud-profile';
import type { GpuModelProps } from '../constructs/gpu-model';
import type { GpuNetworkProps } from '../constructs/gpu-network';
import type { GpuNodeProps } from '../constructs/gpu-node-options';
import type { GpuRecipeProps } from '../constructs/gpu-recipe';
import type { KeyPairProps } from '../constructs/key-pair';
import type { SecurityGroupProps } from '../constructs/security-group';
import type { SnapshotImageProps } from '../constructs/snapshot-image';
import { isCidr } from './ip';
import { nodeContract } from './node-contract';
import { checkProps } from './validation-props';
import {
  CLOUD_PROFILE_PROPS, GPU_MODEL_PROPS, GPU_NETWORK_PROPS, GPU_NODE_PROPS, GPU_RECIPE_PROPS, KEY_PAIR_PROPS,
  SECURITY_GROUP_PROPS, SNAPSHOT_IMAGE_PROPS,
} from './validation-schemas';
import { check, checkEnum, isToken, requireKnown, duplicates, fail, isUnixUserName, MAX_GPUS_PER_FLAVOR, NOVA_METADATA, NOVA_TAGS } from './validation';

/** Nova and Cinder availability zones: a name without whitespace. */
export function checkZone(path: string, prop: string, zone: string | undefined): void {
  if (zone === undefined) return;
  check(/^[^\s]{1,255}$/.test(zone), path, prop, '1-255 characters without whitespace', zone,
    "Use the zone's name as `openstack availability zone list` shows it");
}

/** Server tags as Nova accepts them. */
export function checkTags(path: string, prop: string, tags: readonly string[], max: number = NOVA_TAGS.maxItems): void {
  check(tags.length <= max, path, prop, `at most ${max} tags`, tags.length, 'Drop some tags or move facts into metadata');
  for (const tag of tags) {
    check(typeof tag === 'string' && tag.length >= 1 && tag.length <= NOVA_TAGS.maxLength && !/[,/\u0000-\u001f\u007f]/.test(tag),
      path, `${prop} entry`, `1-${NOVA_TAGS.maxLength} characters without ',', '/' or control characters`, tag, 'Shorten or rename the tag');
  }
  const twice = duplicates(tags.filter((t) => !isToken(t)));
  check(twice.length === 0, path, prop, 'distinct tags', twice[0], 'Nova keeps tags as a set; list each tag once');
}

export function validateGpuNode(path: string, props: GpuNodeProps, members: { removal: { [k: string]: string }; outputs: { [k: string]: string } }): void {
  checkProps(path, 'GpuNodeProps', props, GPU_NODE_PROPS);
  if (props.dataVolume?.removalPolicy !== undefined) {
    checkEnum(path, 'dataVolume.removalPolicy', props.dataVolume.removalPolicy, members.removal, 'VolumeRemovalPolicy');
  }
  if (props.outputs !== undefined) checkEnum(path, 'outputs', props.outputs, members.outputs, 'NodeOutputs');
  checkZone(path, 'availabilityZone', props.availabilityZone);
  if (typeof props.waitForReady === 'object') {
    // Turned into seconds and an interval at synth, for the watcher's environment.
    requireKnown(path, 'waitForReady.timeoutMinutes', props.waitForReady.timeoutMinutes, 'converted to seconds at synth');
    requireKnown(path, 'waitForReady.pollIntervalSeconds', props.waitForReady.pollIntervalSeconds, 'checked and written at synth');
    requireKnown(path, 'waitForReady.cloud', props.waitForReady.cloud, 'checked as a clouds.yaml entry name at synth');
  }
  checkZone(path, 'dataVolume.availabilityZone', props.dataVolume?.availabilityZone);
  if (props.dataVolume?.volumeType !== undefined) {
    check(/^\S(.{0,253}\S)?$/.test(props.dataVolume.volumeType), path, 'dataVolume.volumeType', 'a Cinder volume type name (1-255 characters)',
      props.dataVolume.volumeType, 'Use a name from `openstack volume type list`, or leave it out for the default type');
  }
  const metadata = props.metadata ?? {};
  const keys = Object.keys(metadata);
  // The library adds up to 6 keys of its own (gpu_node_*).
  check(keys.length + 6 <= NOVA_METADATA.maxItems, path, 'metadata', `at most ${NOVA_METADATA.maxItems - 6} items (Nova's default quota is 128, the library uses 6)`,
    keys.length, 'Move bulk data into a file of the recipe');
  for (const key of keys) {
    // A JSON config's "__proto__" is an own key here, but an object literal or assignment on the way to the JSON drops it.
    check(key !== '__proto__', path, 'metadata key', "a key other than '__proto__'", key, 'Rename the key (JavaScript objects treat it as their prototype)');
    check(NOVA_METADATA.keyPattern.test(key), path, 'metadata key', "1-255 letters, digits, spaces, '-', '_', ':' or '.'", key, 'Rename the key');
    const prefix = nodeContract().propertyPrefix;
    check(!key.startsWith(prefix), path, 'metadata key', `a key outside the library's ${prefix} prefix`, key,
      `The library writes the ${prefix}* keys itself; pick another name`);
    const value = metadata[key];
    check(value.length <= NOVA_METADATA.maxValue && !/[\u0000-\u001f\u007f]/.test(value), path, `metadata['${key}']`,
      `at most ${NOVA_METADATA.maxValue} characters without control characters`, value, 'Shorten the value or move it into a file of the recipe');
  }
  if (props.tags) checkTags(path, 'tags', props.tags);
  check(props.rolloutToken === undefined || props.rolloutToken.length <= 255, path, 'rolloutToken', 'at most 255 characters',
    props.rolloutToken, 'Use a short version or date');
}

export function validateGpuNetwork(path: string, props: GpuNetworkProps): void {
  checkProps(path, 'GpuNetworkProps', props, GPU_NETWORK_PROPS);
  const cidr = props.cidr;
  if (cidr !== undefined && !Token.isUnresolved(cidr)) {
    const prefix = Number(cidr.split('/')[1]);
    // Network, broadcast, gateway and DHCP port take four addresses of the block.
    check(!(isCidr(cidr, 4) && prefix > 29), path, 'cidr', 'a block of /29 or larger (network, broadcast, gateway and DHCP take 4 addresses)', cidr,
      "Use a larger block such as '10.42.0.0/24'");
  }
  const dns = isToken(props.dnsNameservers) ? [] : props.dnsNameservers ?? [];
  // Neutron's default max_dns_nameservers is 5.
  check(dns.length <= 5, path, 'dnsNameservers', 'at most 5 servers (Neutron max_dns_nameservers)', dns.length, 'List fewer servers');
  const twice = duplicates(dns.filter((d) => !isToken(d)));
  check(twice.length === 0, path, 'dnsNameservers', 'distinct addresses', twice[0], 'Neutron refuses a duplicate; list each server once');
}

export function validateSecurityGroup(path: string, props: SecurityGroupProps): void {
  checkProps(path, 'SecurityGroupProps', props, SECURITY_GROUP_PROPS);
  const d = props.description;
  if (d !== undefined) {
    check(d.length <= 255 && !/[\u0000-\u001f\u007f]/.test(d), path, 'description', 'at most 255 characters without control characters (Neutron)',
      d, 'Shorten the description');
  }
}

const keyPairNames = new WeakMap<TerraformStack, Map<string, string>>();

export function validateKeyPair(scope: Construct, props: KeyPairProps, name: string): void {
  const path = scope.node.path;
  checkProps(path, 'KeyPairProps', props, KEY_PAIR_PROPS);
  // Nova's keypair_name_special_chars (nova/api/validation/parameter_types.py).
  check(/^[A-Za-z0-9_.@ -]{1,255}$/.test(name) && name.trim() === name, path, 'keyPairName',
    "1-255 letters, digits, spaces, '_', '-', '.' or '@' without leading or trailing spaces", name, 'Rename the keypair');
  if (Token.isUnresolved(name)) return;
  const stack = TerraformStack.of(scope);
  let names = keyPairNames.get(stack);
  if (!names) keyPairNames.set(stack, (names = new Map()));
  const other = names.get(name);
  if (other !== undefined) {
    fail(path, 'keyPairName', `unique in the stack (${other} already creates it)`, name, 'Give one of the keypairs another keyPairName, or share one KeyPair');
  }
  names.set(name, path);
}

export function validateSnapshotImage(path: string, props: SnapshotImageProps, visibility: { [k: string]: string }): void {
  checkProps(path, 'SnapshotImageProps', props, SNAPSHOT_IMAGE_PROPS);
  if (props.visibility !== undefined) checkEnum(path, 'visibility', props.visibility, visibility, 'ImageVisibility');
  requireKnown(path, 'timeoutMinutes', props.timeoutMinutes, 'converted to seconds at synth');
  requireKnown(path, 'pollIntervalSeconds', props.pollIntervalSeconds, 'checked and written at synth');
  requireKnown(path, 'cloud', props.cloud, 'checked as a clouds.yaml entry name at synth');
  // The builder is named `<imageName>-builder`.
  check(props.imageName === undefined || props.imageName.length <= 255 - '-builder'.length, path, 'imageName',
    `at most ${255 - '-builder'.length} characters, as '-builder' is appended for the builder server`, props.imageName, 'Shorten the name');
  if (props.tags) {
    for (const tag of props.tags) {
      check(tag.length >= 1 && tag.length <= 255 && !/[,/\u0000-\u001f\u007f]/.test(tag), path, 'tags entry',
        "1-255 characters without ',', '/' or control characters", tag, 'Rename the tag');
    }
  }
}

// Files the recipe ships itself; a user file there would replace the library's scripts.
const OWN_PREFIXES = ['/opt/gpu-node/', '/etc/gpu-node/'];
// Packages that install a driver of their own next to the pinned one.
const DRIVER_PACKAGE = /^(nvidia-driver-|nvidia-dkms-|nvidia-kernel-|nvidia-headless-|nvidia-open|cuda-drivers|libnvidia-compute-|xserver-xorg-video-nvidia|nvidia-utils-|linux-modules-nvidia-)/;

let bashChecked: boolean | undefined;

/** Whether `bash` runs on the synthesizing machine (for `bash -n` of recipe commands). */
export function bashAvailable(): boolean {
  if (bashChecked === undefined) bashChecked = spawnSync('bash', ['-c', 'true'], { env: process.env }).status === 0;
  return bashChecked;
}

export function validateGpuRecipe(where: string, props: GpuRecipeProps): void {
  checkProps(where, 'GpuRecipeProps', props, GPU_RECIPE_PROPS);
  for (const p of props.packages ?? []) {
    check(!DRIVER_PACKAGE.test(p), where, 'packages entry', 'a package that brings no NVIDIA driver of its own', p,
      'The recipe pins the driver with nvidiaDriver; choose NvidiaDriver.branch(...) instead of a driver package');
  }
  const files = props.files ?? [];
  for (const f of files) {
    check(f.path.startsWith('/') && !f.path.split('/').includes('..'), where, 'file path', "absolute without '..' segments", f.path,
      "Write the path from / without '..', e.g. '/etc/app/config.yaml'");
  }
  const twice = duplicates(files.map((f) => normalizePath(f.path)));
  check(twice.length === 0, where, 'files', 'files with distinct paths', twice[0], 'Merge the contents into one file');
  for (const f of files) {
    const last = f.path.split('/').pop();
    check(last !== '' && last !== '.', where, 'file path', 'the path of a file, not a directory', f.path, "Name the file, e.g. '/etc/app/config.yaml'");
    // Compared in the form the node's file system reads: '/etc//gpu-node/./x' is '/etc/gpu-node/x'.
    check(!OWN_PREFIXES.some((prefix) => normalizePath(f.path).startsWith(prefix)), where, 'file path', `outside ${OWN_PREFIXES.join(' and ')}`, f.path,
      "These hold the recipe's own scripts and settings; write your file elsewhere, e.g. under /etc/<app>/");
    check(!/[\u0000-\u001f\u007f]/.test(f.path) && f.path.length <= 4096, where, 'file path', 'a path without control characters',
      f.path, 'Fix the path');
    check(isWellFormed(f.content), where, `content of ${f.path}`, 'valid Unicode text (no lone surrogates)', '<invalid Unicode>',
      'Decode the file as UTF-8 before passing it, or download binary files in a command');
    check(!/[\u0000\ufffd]/.test(f.content), where, `content of ${f.path}`, 'text, not binary (no NUL bytes or U+FFFD replacement characters)',
      '<binary content>', 'Read text files as UTF-8; download binary files in a command (e.g. curl -o)');
  }
  for (const c of props.commands ?? []) {
    check(isWellFormed(c) && !c.includes('\u0000'), where, 'commands entry', 'valid Unicode text', '<invalid text>', 'Fix the command');
    // bash reads a CR as part of the word: `apt-get install -y htop\r` asks for a package 'htop\r'.
    check(!c.includes('\r'), where, 'commands entry', 'a command without carriage returns (bash takes a CR as part of the word)', c,
      'Save the commands with LF line ends, not CRLF');
  }
  const commands = props.commands ?? [];
  if (commands.length > 0 && !commands.some((c) => Token.isUnresolved(c))) {
    // Without bash on the synthesizing machine the syntax is first checked on the node; nodes say so (checkSoftware in recipe-rules.ts).
    if (bashAvailable()) {
      const r = spawnSync('bash', ['-n'], { input: commands.join('\n') + '\n', encoding: 'utf8' });
      const first = (r.stderr || '').split('\n')[0].replace(/^bash: (line \d+:)?\s*/, '');
      if (r.status !== 0) {
        fail(where, 'commands', 'valid bash (bash -n)', commands.length === 1 ? commands[0] : `${commands.length} commands`,
          `bash says: ${first}`);
      }
      // bash -n only warns about a here-document without its end line, and the node would then write the
      // commands after it into the file instead of running them.
      const heredoc = /here-document at line \d+ delimited by end-of-file \(wanted `([^']*)'\)/.exec(r.stderr || '');
      if (heredoc) {
        fail(where, 'commands', 'valid bash (bash -n)', commands.length === 1 ? commands[0] : `${commands.length} commands`,
          `bash says: ${first}; end the here-document with a line holding only ${heredoc[1]}`);
      }
    }
  }
}

export function validateCloudProfile(props: CloudProfileProps, releases: { [k: string]: string }): void {
  const path = `CloudProfile ${typeof props?.name === 'string' ? props.name : ''}`.trim();
  checkProps(path, 'CloudProfileProps', props, CLOUD_PROFILE_PROPS);
  const flavors = props.flavors ?? [];
  // Profiles are data: their flavor counts and login user are rendered into user_data.
  for (const f of flavors) requireKnown(path, `gpuCount of flavor ${f.flavorName}`, f.gpuCount, 'written into user_data for the readiness check');
  requireKnown(path, 'loginUser', props.loginUser, 'written into user_data (burn-in log, docker group)');
  for (const f of flavors) {
    check(Number.isInteger(f.gpuCount) && f.gpuCount >= 1 && f.gpuCount <= MAX_GPUS_PER_FLAVOR, path, `gpuCount of flavor ${f.flavorName}`,
      `a whole number from 1 to ${MAX_GPUS_PER_FLAVOR}`, f.gpuCount, 'Give the number of GPUs the flavor passes through');
  }
  const twice = duplicates(flavors.map((f) => f.flavorName));
  check(twice.length === 0, path, 'flavors', 'flavors with distinct names', twice[0], 'List each flavor once (withFlavor() replaces one by name)');
  for (const f of flavors) {
    check(/^[\w.\-:]{1,255}$/.test(f.flavorName), path, 'flavorName', "1-255 letters, digits, '.', '-', '_' or ':'", f.flavorName,
      'Use the name `openstack flavor list` shows');
  }
  const images = props.ubuntuImages ?? [];
  for (const i of images) {
    checkEnum(path, 'ubuntuImages release', i.release, releases, 'UbuntuRelease');
    // An empty name would make the lookup (most_recent) boot the newest image the project sees.
    check(i.imageName.trim().length > 0 && i.imageName.trim() === i.imageName && i.imageName.length <= 255 && !/[\u0000-\u001f\u007f]/.test(i.imageName),
      path, `imageName of Ubuntu ${i.release}`, '1-255 printable characters without leading or trailing spaces', i.imageName,
      'Use the name `openstack image list` shows');
  }
  const releaseTwice = duplicates(images.map((i) => i.release));
  check(releaseTwice.length === 0, path, 'ubuntuImages', 'one image per release', releaseTwice[0], 'List each release once (withUbuntuImage() replaces one)');
  if (props.loginUser !== undefined) {
    check(isUnixUserName(props.loginUser), path, 'loginUser', "a Unix user name (lower-case letter or '_', then up to 31 of [a-z0-9_-])",
      props.loginUser, "Use the image's default user, e.g. 'ubuntu'");
  }
  if (props.userNetworkPattern !== undefined) {
    check(props.userNetworkPattern.includes('{user}') && props.userNetworkPattern.length <= 200, path, 'userNetworkPattern',
      "a name pattern with '{user}' in it", props.userNetworkPattern, "Write it like '{user}-net'");
  }
  if (props.externalNetworkName !== undefined) {
    check(/^\S(.{0,253}\S)?$/.test(props.externalNetworkName), path, 'externalNetworkName', '1-255 characters without leading or trailing spaces',
      props.externalNetworkName, 'Use the name `openstack network list --external` shows');
  }
}

export function validateGpuModel(props: GpuModelProps, architectures: { [k: string]: string }): void {
  const path = `GpuModel ${typeof props?.id === 'string' ? props.id : ''}`.trim();
  checkProps(path, 'GpuModelProps', props, GPU_MODEL_PROPS);
  checkEnum(path, 'architecture', props.architecture, architectures, 'GpuArchitecture');
  requireKnown(path, 'productName', props.productName, 'matched by the readiness check in user_data');
  requireKnown(path, 'nvidiaSmiMatch', props.nvidiaSmiMatch, 'matched by the readiness check in user_data');
  check(props.memoryGiB > 0 && props.memoryGiB <= 4096, path, 'memoryGiB', 'a number above 0 (GiB of GPU memory)', props.memoryGiB, 'Give the card\'s memory, e.g. 24');
  check(props.productName.trim().length > 0 && !/[\u0000-\u001f\u007f'"\\]/.test(props.productName), path, 'productName',
    "the name nvidia-smi reports (no quotes, backslashes or control characters)", props.productName, "e.g. 'NVIDIA L4'");
  if (props.nvidiaSmiMatch !== undefined) {
    check(props.nvidiaSmiMatch.trim().length > 0 && !/[\u0000-\u001f\u007f'"\\]/.test(props.nvidiaSmiMatch), path, 'nvidiaSmiMatch',
      'a non-empty text without quotes, backslashes or control characters', props.nvidiaSmiMatch, "e.g. 'A100'");
  }
}

/** The path as the file system reads it: no empty or '.' segments ('..' is refused before). */
export function normalizePath(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}

function isWellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}
