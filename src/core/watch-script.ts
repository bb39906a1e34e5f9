import * as path from 'path';
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { CONTRACT_FILE } from './node-contract';
import { packageRoot } from './package-files';

const ID = 'GpuNodeWatchScript';
const CONTRACT_ID = 'GpuNodeContract';

function stackAsset(scope: Construct, id: string, file: string): TerraformAsset {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as TerraformAsset;
  return new TerraformAsset(stack, id, { path: path.join(packageRoot(), file), type: AssetType.FILE });
}

/**
 * `assets/gpu-node-watch.sh`, the one console watcher for the bake and for `waitForReady`,
 * as an asset of the stack (once per stack; local-exec runs it with `bash <path> bake|ready|power`).
 */
export function watchScript(scope: Construct): TerraformAsset {
  return stackAsset(scope, ID, path.join('assets', 'gpu-node-watch.sh'));
}

/**
 * The watcher's environment from the node contract: `WATCH_CONTRACT`, the path of
 * cloud-init/lib/gpu-node-contract.sh as an asset of the stack (the same file the node's scripts
 * source), from which the watcher takes the console markers, the image tag and the property prefix.
 */
export function watchEnvironment(scope: Construct): { [name: string]: string } {
  return { WATCH_CONTRACT: stackAsset(scope, CONTRACT_ID, CONTRACT_FILE).path };
}

/**
 * The local-exec provisioner that runs the watcher in `mode` (bake, ready, power) with the OpenStack
 * CLI's `OS_CLOUD` and the mode's variables, plus the node contract (watchEnvironment).
 */
export function watcherProvisioner(scope: Construct, mode: 'bake' | 'ready' | 'power', cloud: string, environment: { [name: string]: string }) {
  return {
    type: 'local-exec' as const,
    command: `bash ${watchScript(scope).path} ${mode}`,
    environment: { OS_CLOUD: cloud, ...environment, ...watchEnvironment(scope) },
  };
}
