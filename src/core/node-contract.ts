// The contract between the library and the node's scripts (cloud-init/node/lib/gpu-node-contract.sh). Its
// values reach TypeScript through contract.generated.ts, which `npm run gen` writes from that file, so
// both sides read the same names, keys and markers.
import * as C from './contract.generated';

/** The contract file, below the package root; shipped to the node next to gpu-node-common.sh. */
export const CONTRACT_FILE = 'cloud-init/node/lib/gpu-node-contract.sh';

/** The contract's values, by name. */
export interface NodeContract {
  /** Every variable the recipe writes to recipe.env, in order (`GPU_NODE_REQUIRED_VARS`). */
  readonly requiredVars: readonly string[];
  /** Every variable a Slurm node's cluster.env holds, in order (`GPU_CLUSTER_REQUIRED_VARS`). */
  readonly clusterRequiredVars: readonly string[];
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
  /** Steps that run at every boot (`GPU_NODE_EVERY_BOOT_STEPS`). */
  readonly everyBootSteps: readonly string[];
  /** Install steps whose done markers a sealed image keeps (`GPU_NODE_IMAGE_STEPS`). */
  readonly imageSteps: readonly string[];
  /** Ubuntu releases the recipe installs on (`GPU_NODE_UBUNTU_RELEASES`). */
  readonly ubuntuReleases: readonly string[];
}

const CONTRACT: NodeContract = Object.freeze({
  requiredVars: C.GPU_NODE_REQUIRED_VARS,
  clusterRequiredVars: C.GPU_CLUSTER_REQUIRED_VARS,
  markReady: C.GPU_NODE_MARK_READY,
  markFailed: C.GPU_NODE_MARK_FAILED,
  markRebooting: C.GPU_NODE_MARK_REBOOTING,
  markIdleShelve: C.GPU_NODE_MARK_IDLE_SHELVE,
  markSealing: C.GPU_NODE_MARK_SEALING,
  markSealed: C.GPU_NODE_MARK_SEALED,
  clusterMarkReady: C.GPU_CLUSTER_MARK_READY,
  clusterMarkFailed: C.GPU_CLUSTER_MARK_FAILED,
  imageTagPrefix: C.GPU_NODE_IMAGE_TAG_PREFIX,
  propertyPrefix: C.GPU_NODE_PROPERTY_PREFIX,
  idleMetadataPrefix: C.GPU_NODE_IDLE_METADATA_PREFIX,
  everyBootSteps: C.GPU_NODE_EVERY_BOOT_STEPS,
  imageSteps: C.GPU_NODE_IMAGE_STEPS,
  ubuntuReleases: C.GPU_NODE_UBUNTU_RELEASES,
});

/** The shipped contract. */
export function nodeContract(): NodeContract {
  return CONTRACT;
}

type Prefixed<K extends string> = `${typeof C.GPU_NODE_PROPERTY_PREFIX}${K}`;
/** A server metadata key the library writes on every node (`GPU_NODE_METADATA_KEYS`): tsc refuses a name the contract does not list. */
export function nodeMetadataKey<K extends typeof C.GPU_NODE_METADATA_KEYS[number]>(name: K): Prefixed<K> {
  return `${C.GPU_NODE_PROPERTY_PREFIX}${name}`;
}
/** A server metadata key of a snapshot image's builder (`GPU_NODE_BUILDER_METADATA_KEYS`). */
export function builderMetadataKey<K extends typeof C.GPU_NODE_BUILDER_METADATA_KEYS[number]>(name: K): Prefixed<K> {
  return `${C.GPU_NODE_PROPERTY_PREFIX}${name}`;
}
/** A property of a baked image (`GPU_NODE_IMAGE_PROPERTY_KEYS`). */
export function imagePropertyKey<K extends typeof C.GPU_NODE_IMAGE_PROPERTY_KEYS[number]>(name: K): Prefixed<K> {
  return `${C.GPU_NODE_PROPERTY_PREFIX}${name}`;
}

/**
 * The server metadata that carries an application credential below `prefix` (an idle-shelve node's,
 * or a Slurm head's for power saving), with the contract's `GPU_NODE_CREDENTIAL_METADATA_KEYS`.
 */
export function credentialMetadata(prefix: typeof C.GPU_NODE_IDLE_METADATA_PREFIX | typeof C.GPU_CLUSTER_OS_METADATA_PREFIX,
  values: { [K in typeof C.GPU_NODE_CREDENTIAL_METADATA_KEYS[number]]: K extends 'region' ? string | undefined : string }): { [key: string]: string } {
  const metadata: { [key: string]: string } = {};
  for (const k of C.GPU_NODE_CREDENTIAL_METADATA_KEYS) {
    const value = values[k];
    if (value !== undefined && value !== '') metadata[`${prefix}${k}`] = value;
  }
  return metadata;
}

/**
 * How many server metadata items the library itself writes on a node at most: its own keys and, with
 * idleShelve, its credential's (the contract's lists, so a new key there counts here).
 */
export function ownMetadataItems(idleShelve: boolean): number {
  return C.GPU_NODE_METADATA_KEYS.length + (idleShelve ? C.GPU_NODE_CREDENTIAL_METADATA_KEYS.length : 0);
}

/**
 * `values` as the entries of an env file in the order of the contract's list `listName` (`required`);
 * a name missing from either side throws, so the renderer and the contract cannot drift apart.
 */
export function contractEntries(file: string, listName: string, required: readonly string[], values: { [name: string]: string | number }):
[string, string | number][] {
  const extra = Object.keys(values).filter((k) => !required.includes(k));
  const missing = required.filter((k) => !(k in values));
  if (extra.length > 0 || missing.length > 0) {
    throw new Error(`cdktf-openstack-gpu: ${file} and ${listName} in ${CONTRACT_FILE} differ ` +
      `(not in the contract: ${extra.join(' ') || 'none'}; not written: ${missing.join(' ') || 'none'})`);
  }
  return required.map((k) => [k, values[k]]);
}
