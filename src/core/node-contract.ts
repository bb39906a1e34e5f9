// The contract between the library and the node's scripts (cloud-init/lib/gpu-node-contract.sh),
// parsed from the shipped file, so both sides read the same names and markers.
import { readPackageFile } from './package-files';

/** The contract file, below the package root; shipped to the node next to gpu-node-common.sh. */
export const CONTRACT_FILE = 'cloud-init/lib/gpu-node-contract.sh';

/** The contract's values, by name. */
export interface NodeContract {
  /** Every variable the recipe writes to recipe.env, in order (`GPU_NODE_REQUIRED_VARS`). */
  readonly requiredVars: readonly string[];
  /** Console markers: the first word of each line the scripts print. */
  readonly markReady: string;
  readonly markFailed: string;
  readonly markRebooting: string;
  /** The line a node prints before it shelves itself for idleness (`GPU_NODE_MARK_IDLE_SHELVE`). */
  readonly markIdleShelve: string;
  readonly markSealing: string;
  readonly markSealed: string;
  readonly clusterMarkReady: string;
  readonly clusterMarkFailed: string;
  /** The tag of a baked image is this prefix and the recipe key. */
  readonly imageTagPrefix: string;
  /** The prefix of the image properties and server metadata keys the library writes. */
  readonly propertyPrefix: string;
  /** The prefix of the server metadata keys that carry an idle-shelve node's credential (`GPU_NODE_IDLE_METADATA_PREFIX`). */
  readonly idleMetadataPrefix: string;
  /** Steps that run at every boot (`GPU_NODE_EVERY_BOOT`). */
  readonly everyBootSteps: readonly string[];
  /** Install steps whose done markers a sealed image keeps (`GPU_NODE_IMAGE_STEPS`). */
  readonly imageSteps: readonly string[];
  /** Ubuntu releases the recipe installs on (`GPU_NODE_UBUNTU_RELEASES`). */
  readonly ubuntuReleases: readonly string[];
}

/**
 * The NAME="value" lines of a contract text. Anything but comments, blank lines and plain
 * assignments throws: bash would source more than TypeScript sees.
 */
export function parseContract(text: string, file = CONTRACT_FILE): { [name: string]: string } {
  const values: { [name: string]: string } = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(?:"([^"$\\`]*)"|([^\s"'$\\`#;]*))$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected NAME="value" (no $, backslash or quotes in the value), got: ${line}`);
    if (m[1] in values) throw new Error(`${file}:${i + 1}: ${m[1]} is declared twice`);
    values[m[1]] = m[2] ?? m[3];
  });
  return values;
}

let cached: NodeContract | undefined;

/** The shipped contract (read once per process). */
export function nodeContract(): NodeContract {
  if (cached) return cached;
  const v = parseContract(readPackageFile(CONTRACT_FILE));
  const get = (name: string): string => {
    const value = v[name];
    if (value === undefined) throw new Error(`${CONTRACT_FILE}: ${name} is missing; reinstall cdktf-openstack-gpu`);
    return value;
  };
  const list = (name: string) => Object.freeze(get(name).split(/\s+/).filter(Boolean));
  cached = Object.freeze({
    requiredVars: list('GPU_NODE_REQUIRED_VARS'),
    markReady: get('GPU_NODE_MARK_READY'),
    markFailed: get('GPU_NODE_MARK_FAILED'),
    markRebooting: get('GPU_NODE_MARK_REBOOTING'),
    markIdleShelve: get('GPU_NODE_MARK_IDLE_SHELVE'),
    markSealing: get('GPU_NODE_MARK_SEALING'),
    markSealed: get('GPU_NODE_MARK_SEALED'),
    clusterMarkReady: get('GPU_CLUSTER_MARK_READY'),
    clusterMarkFailed: get('GPU_CLUSTER_MARK_FAILED'),
    imageTagPrefix: get('GPU_NODE_IMAGE_TAG_PREFIX'),
    propertyPrefix: get('GPU_NODE_PROPERTY_PREFIX'),
    idleMetadataPrefix: get('GPU_NODE_IDLE_METADATA_PREFIX'),
    everyBootSteps: list('GPU_NODE_EVERY_BOOT'),
    imageSteps: list('GPU_NODE_IMAGE_STEPS'),
    ubuntuReleases: list('GPU_NODE_UBUNTU_RELEASES'),
  });
  return cached;
}
