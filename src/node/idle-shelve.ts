// A node's idle shelve (GpuNodeProps.idleShelve): its settings and its application credential.
import { Construct } from 'constructs';
import { ApplicationCredential, checkCredentialTarget, IDLE_SHELVE_ACCESS_RULES } from '../cloud/application-credential';
import { requireResolved } from '../core/names';
import { GPU_NODE_IDLE_METADATA_PREFIX } from '../core/contract.generated';
import { credentialMetadata } from '../core/node-contract';
import { tfLiteral } from '../core/template';
import type { IdleShelveOptions } from './gpu-node-options';

/** `idleShelve.afterHours`, checked (0 without idleShelve), and the credential's settings. */
export function idleShelveHours(path: string, idle: IdleShelveOptions | undefined): number {
  if (!idle) return 0;
  const hours = idle.afterHours ?? 4;
  requireResolved(path, 'idleShelve.afterHours', hours);
  // Up to a year; the cloud's own lifetime (168 h on HFD NetLab) comes first anyway.
  if (!(Number.isInteger(hours) && hours >= 1 && hours <= 8760)) {
    throw new Error(`${path}: idleShelve.afterHours must be a whole number of hours from 1 to 8760, got ${hours}; ` +
      'e.g. 4 (a shelve and an unshelve cost minutes, so short idle times thrash)');
  }
  checkCredentialTarget(path, 'idleShelve', idle, "the node's");
  return hours;
}

/**
 * The node's application credential (shelve its server) and the server metadata that carries it: a
 * reference in cdk.tf.json, the secret in Terraform state only.
 */
export function addIdleShelveCredential(node: Construct, nodeName: string, lifetimeHours: number | undefined, idle: IdleShelveOptions):
{ credential: ApplicationCredential; metadata: { [key: string]: string } } {
  const credential = new ApplicationCredential(node, 'IdleShelveCredential', {
    name: `${nodeName}-idle-shelve`,
    description: `GPU node ${nodeName}: shelve itself when idle, managed by cdktf (${node.node.path})`,
    // Expires with the node's lifetime after the first apply, as the cluster's does.
    lifetimeHours,
    roles: idle.roles ?? ['member'],
    accessRules: IDLE_SHELVE_ACCESS_RULES,
  });
  return {
    credential,
    metadata: credentialMetadata(GPU_NODE_IDLE_METADATA_PREFIX, {
      auth_url: tfLiteral(idle.authUrl),
      region: idle.region ? tfLiteral(idle.region) : undefined,
      credential_id: credential.id,
      credential_secret: credential.secret,
    }),
  };
}
