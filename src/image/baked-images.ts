import { Construct } from 'constructs';
import { dataOpenstackImagesImageIdsV2 } from '../../.gen/providers/openstack';
import { nodeContract } from '../core/node-contract';

/**
 * The Glance tag that marks a bake of a recipe key. Lookups use the tag, not the
 * recipe_key property (GPU_NODE_IMAGE_PROPERTY_KEYS): Nova copies image properties into every snapshot of a node
 * booted from the image (also the one the cloud makes when it shelves a node), but not tags.
 * assets/gpu-node-watch.sh (bake) sets the same tag; the prefix is GPU_NODE_IMAGE_TAG_PREFIX of the node contract.
 */
export function bakeTag(recipeKey: string): string {
  return `${nodeContract().imageTagPrefix}${recipeKey}`;
}

/** The images baked for a recipe key, newest first. */
export function lookupBakedImages(scope: Construct, id: string, recipeKey: string, visibility?: string):
dataOpenstackImagesImageIdsV2.DataOpenstackImagesImageIdsV2 {
  return new dataOpenstackImagesImageIdsV2.DataOpenstackImagesImageIdsV2(scope, id, {
    tags: [bakeTag(recipeKey)],
    visibility,
    sort: 'created_at:desc',
  });
}
