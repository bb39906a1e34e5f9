import * as path from 'path';
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { CONTRACT_FILE } from './node-contract';
import { packageRoot } from './package-files';
import { tfLiteral } from './template';
import { TerraformData } from './terraform-data';

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
 * cloud-init/node/lib/gpu-node-contract.sh as an asset of the stack (the same file the node's scripts
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

/** The server a node's watcher acts on, and the power state it should be in (the provider's value). */
export interface WatchedServer {
  readonly serverId: string;
  readonly powerState: string;
}

/**
 * STOPPED or PAUSED, applied with the OpenStack CLI whenever the wanted state or the server
 * changes (never at a deploy that changes neither), from any state the server is in: a shelved
 * node counts as not running and stays shelved.
 */
export function addPowerControl(node: Construct, server: WatchedServer & { readonly cloud: string }): TerraformData {
  return new TerraformData(node, 'PowerControl', {
    triggersReplace: { server: server.serverId, powerState: server.powerState },
    provisioners: [watcherProvisioner(node, 'power', server.cloud, {
      WATCH_SERVER_ID: server.serverId,
      WATCH_NODE: tfLiteral(node.node.path),
      POWER_WANT: server.powerState,
    })],
  });
}

/** `ReadyWaitOptions`, as this module reads it. */
export interface ReadyWaitSpec {
  readonly timeoutMinutes?: number;
  readonly pollIntervalSeconds?: number;
  readonly cloud?: string;
}

/** The `terraform_data` that waits for the node's ready line (`waitForReady`); throws naming the node for bad options. */
export function addReadyWait(node: Construct, options: ReadyWaitSpec, server: WatchedServer & { readonly recipeName: string }): TerraformData {
  const path = node.node.path;
  const timeout = options.timeoutMinutes ?? 45;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 24 * 60) {
    throw new Error(`${path}: waitForReady.timeoutMinutes must be a whole number from 1 to 1440 (a first boot installs for 10-30), got ${timeout}`);
  }
  const poll = options.pollIntervalSeconds ?? 20;
  if (!Number.isInteger(poll) || poll < 1 || poll > 600) {
    throw new Error(`${path}: waitForReady.pollIntervalSeconds must be a whole number from 1 to 600, got ${poll}`);
  }
  const cloud = options.cloud ?? 'openstack';
  if (!/^[\w.-]+$/.test(cloud)) {
    throw new Error(`${path}: waitForReady.cloud must be a clouds.yaml entry name such as 'openstack', got '${cloud}'`);
  }
  return new TerraformData(node, 'WaitForReady', {
    // A new server or a new power state is a new boot to wait for; a plan without either runs nothing.
    triggersReplace: { server: server.serverId, powerState: server.powerState },
    provisioners: [watcherProvisioner(node, 'ready', cloud, {
      WATCH_SERVER_ID: server.serverId,
      WATCH_RECIPE_NAME: server.recipeName,
      WATCH_NODE: tfLiteral(path),
      WATCH_EXPECT_STATE: server.powerState,
      WATCH_TIMEOUT: `${timeout * 60}`,
      WATCH_POLL_INTERVAL: `${poll}`,
    })],
  });
}
