// The checks of CloudProfile and GpuModel props, beside them (type-only imports of their props).
import type { CloudProfileProps } from './cloud-profile';
import type { GpuModelProps } from './gpu-model';
import { check, checkEnum, duplicates, isUnixUserName, MAX_GPUS_PER_FLAVOR, requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { CLOUD_PROFILE_PROPS, GPU_MODEL_PROPS } from '../core/validation-schemas';

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
