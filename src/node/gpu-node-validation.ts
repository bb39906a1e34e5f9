// The checks of GpuNode props, beside it (a type-only import of its props).
import type { GpuNodeProps } from './gpu-node-options';
import { nodeContract, ownMetadataItems } from '../core/node-contract';
import { check, checkEnum, checkTags, checkZone, NOVA_METADATA, requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { GPU_NODE_PROPS } from '../core/validation-schemas';

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
  // The library's own keys (GPU_NODE_METADATA_KEYS), and with idleShelve its credential's: counted from the contract.
  const own = ownMetadataItems(!!props.idleShelve);
  check(keys.length + own <= NOVA_METADATA.maxItems, path, 'metadata', `at most ${NOVA_METADATA.maxItems - own} items (Nova's default quota is 128, the library uses ${own})`,
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
