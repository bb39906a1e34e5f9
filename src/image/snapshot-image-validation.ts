// The checks of SnapshotImage props, beside it (a type-only import of its props).
import type { SnapshotImageProps } from './snapshot-image';
import { check, checkEnum, requireKnown } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { SNAPSHOT_IMAGE_PROPS } from '../core/validation-schemas';

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
