import { TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { blockstorageVolumeV3, computeInstanceV2 } from '../../.gen/providers/openstack';
import { validateName } from '../core/names';
import { tfLiteral } from '../core/validation';
import { forgetAddress, recordRetainedVolume } from '../core/retained-volumes';

/** What `createDataVolume` needs to know; the public options live in src/node/data-volume.ts. */
export interface DataVolumeSpec {
  readonly sizeGiB?: number;
  readonly volumeName?: string;
  readonly volumeType?: string;
  readonly availabilityZone?: string;
  readonly retain: boolean;
}

/**
 * The node's data volume, attached through the server's own `block_device` list rather than an
 * `openstack_compute_volume_attach_v2`: that resource's delete (resourceComputeVolumeAttachV2Delete
 * -> computeVolumeAttachV2DetachFunc in terraform-provider-openstack v3.4.0) sends no microversion
 * and retries only on 400, while Nova answers 409 to a detach from a SHELVED_OFFLOADED server
 * below microversion 2.20. A server delete (resourceComputeInstanceV2Delete -> servers.Delete)
 * detaches the volumes itself, also when shelved (nova/compute/api.py API._local_delete ->
 * _local_cleanup_bdm_volumes), and keeps them with delete_on_termination = false.
 */
export function createDataVolume(scope: Construct, nodeName: string, spec: DataVolumeSpec): blockstorageVolumeV3.BlockstorageVolumeV3 {
  const path = scope.node.path;
  const size = spec.sizeGiB;
  if (size === undefined) {
    throw new Error(`${path}: dataVolume needs sizeGiB for a new volume, or existingVolumeId to attach one that exists`);
  }
  if (!Token.isUnresolved(size) && !(Number.isInteger(size) && size >= 1 && size <= 65536)) {
    throw new Error(`${path}: dataVolume.sizeGiB must be a whole number from 1 to 65536, got ${size}`);
  }
  const volumeName = validateName(path, 'dataVolume.volumeName', spec.volumeName) ?? `${nodeName}-data`;
  const volume = new blockstorageVolumeV3.BlockstorageVolumeV3(scope, 'DataVolume', {
    name: tfLiteral(volumeName),
    size,
    volumeType: tfLiteral(spec.volumeType),
    // Cinder zones are named independently of Nova's, so the node's zone is not reused.
    availabilityZone: tfLiteral(spec.availabilityZone),
    description: tfLiteral(`Data of ${nodeName}; kept when the node is replaced (cdktf)`),
    lifecycle: { preventDestroy: spec.retain },
  });
  if (spec.retain) recordRetainedVolume(volume, { volumeName, node: path });
  forgetLegacyAttachment(scope);
  return volume;
}

/**
 * The server's block devices: the root disk first (boot_index 0), then the data volume
 * (boot_index -1: not bootable; the provider sends 0 when it is left out, which would make
 * two boot devices). With a data volume but no root volume, the image is given as an
 * image->local device too: once `block_device` is set, resourceComputeInstanceV2Create
 * (getImageIDFromConfig) boots the image only when an image/local entry is in the list.
 */
export function blockDevices(
  imageId: string,
  rootVolumeSizeGiB: number | undefined,
  volumeId: string | undefined,
): computeInstanceV2.ComputeInstanceV2BlockDevice[] | undefined {
  if (rootVolumeSizeGiB === undefined && !volumeId) return undefined;
  const root: computeInstanceV2.ComputeInstanceV2BlockDevice = rootVolumeSizeGiB === undefined
    ? { uuid: imageId, sourceType: 'image', destinationType: 'local', bootIndex: 0, deleteOnTermination: true }
    : { uuid: imageId, sourceType: 'image', destinationType: 'volume', volumeSize: rootVolumeSizeGiB, bootIndex: 0, deleteOnTermination: true };
  if (!volumeId) return [root];
  return [root, { uuid: volumeId, sourceType: 'volume', destinationType: 'volume', bootIndex: -1, deleteOnTermination: false }];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The id of a volume that exists, checked; the stack attaches it and never deletes or changes it. */
export function existingVolumeId(path: string, spec: { readonly existingVolumeId?: string; readonly sizeGiB?: number; readonly volumeName?: string;
  readonly volumeType?: string; readonly availabilityZone?: string; readonly removalPolicy?: string; }): string {
  const id = spec.existingVolumeId!;
  const extra = (['sizeGiB', 'volumeName', 'volumeType', 'availabilityZone', 'removalPolicy'] as const).filter((k) => spec[k] !== undefined);
  if (extra.length > 0) {
    throw new Error(`${path}: dataVolume.existingVolumeId attaches a volume as it is, so ${extra.join(', ')} cannot be set with it; ` +
      'leave them out, or leave out existingVolumeId to make a new volume');
  }
  if (!Token.isUnresolved(id) && !UUID.test(id)) {
    throw new Error(`${path}: dataVolume.existingVolumeId must be a Cinder volume id (a UUID), got '${id}'; ` +
      'find it with `openstack volume show <name> -f value -c id`');
  }
  return id;
}

/**
 * 0.1 attached the volume with `openstack_compute_volume_attach_v2.<node>_DataVolumeAttachment_*`.
 * Dropping that resource from the configuration would make Terraform detach the volume (and fail
 * with 409 on a shelved node); a `removed` block with `destroy = false` (Terraform 1.7+) makes
 * Terraform forget it instead, so the volume stays attached to the running server until its
 * next rollout attaches it through `block_device`. A `removed` block for an address that is
 * not in the state does nothing.
 */
function forgetLegacyAttachment(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  // A plain construct at the old path gives the old address; it synthesizes nothing.
  const marker = new Construct(scope, 'DataVolumeAttachment');
  forgetAddress(scope, `openstack_compute_volume_attach_v2.${stack.getLogicalId(marker.node)}`);
}
