import * as path from 'path';
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { packageRoot } from './package-files';

const ID = 'GpuNodeWatchScript';

/**
 * `assets/gpu-node-watch.sh`, the one console watcher for the bake and for `waitForReady`,
 * as an asset of the stack (once per stack; local-exec runs it with `bash <path> bake|ready`).
 */
export function watchScript(scope: Construct): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(ID);
  if (existing) return existing as TerraformAsset;
  return new TerraformAsset(stack, ID, {
    path: path.join(packageRoot(), 'assets', 'gpu-node-watch.sh'),
    type: AssetType.FILE,
  });
}
