// The public options of a node's data volume; the volume itself is made by src/node/data-volume-resources.ts
// (a plain L1 in the node's scope, not a construct of its own, so its Terraform address stays the node's).

/** What happens to a data volume when its node or stack is destroyed. */
export enum VolumeRemovalPolicy {
  /**
   * Keep the volume: `cdktf destroy` of its stack stops before deleting anything (`prevent_destroy`),
   * and a node removed from the code (a deleted node, a fleet scaled down, a Slurm worker dropped)
   * leaves its volume in the cloud, no longer managed (see `retained-volumes.json` in the README).
   */
  RETAIN = 'retain',
  /** Delete the volume with its node or stack. */
  DESTROY = 'destroy',
}

/** A data volume that outlives the node: a new one (`sizeGiB`) or one that exists (`existingVolumeId`). */
export interface DataVolumeOptions {
  /**
   * Size in GiB of a new volume the stack makes.
   * @default - none; required unless `existingVolumeId` is given
   */
  readonly sizeGiB?: number;
  /**
   * Attach a volume that exists (e.g. one a removed node left behind) instead of making one. The stack
   * never deletes or changes it; `volumeName`, `volumeType`, `availabilityZone` and `removalPolicy`
   * do not apply.
   * @default - a new volume of `sizeGiB`
   */
  readonly existingVolumeId?: string;
  /**
   * The volume's name in the cloud.
   * @default - the node name with `-data`
   */
  readonly volumeName?: string;
  /**
   * The Cinder volume type.
   * @default - the cloud's default type
   */
  readonly volumeType?: string;
  /**
   * The Cinder availability zone (changing it later replaces the volume).
   * @default - the cloud's choice
   */
  readonly availabilityZone?: string;
  /**
   * What happens to the volume on destroy.
   * @default VolumeRemovalPolicy.RETAIN
   */
  readonly removalPolicy?: VolumeRemovalPolicy;
}
