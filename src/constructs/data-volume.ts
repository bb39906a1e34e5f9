// The public options of a node's data volume; the volume itself is made by src/private/data-volume.ts
// (a plain L1 in the node's scope, not a construct of its own, so its Terraform address stays the node's).

/** What happens to a data volume when its node or stack is destroyed. */
export enum VolumeRemovalPolicy {
  /** Keep the volume: Terraform refuses to destroy it (`prevent_destroy`). */
  RETAIN = 'retain',
  /** Delete the volume with the stack. */
  DESTROY = 'destroy',
}

/** A data volume that outlives the node. */
export interface DataVolumeOptions {
  /** Size in GiB. */
  readonly sizeGiB: number;
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
