import { createHash } from 'crypto';
import { Fn, TerraformLocal } from 'cdktf';
import { Construct } from 'constructs';
import { sharedChild, stackShared } from '../core/stack-shared';
import { tfLiteral } from '../core/template';

/**
 * The `user_data` argument for a server: `${base64gzip(local.<name>)}`, with the cloud-config text
 * in one Terraform local per distinct text in the stack, so a fleet of equal nodes carries it
 * once and the JSON still shows it in plain text under `locals`.
 *
 * Why this works end to end:
 * - Terraform's `base64gzip()` gzips the text (Go's compress/gzip, default level) and base64-encodes it.
 * - gophercloud's `servers.CreateOpts.ToServerCreateMap` (openstack/compute/v2/servers/requests.go)
 *   sends user_data that already decodes as base64 unchanged, so Nova stores exactly this string;
 *   its 65,535-byte limit applies to it.
 * - cloud-init (`cloudinit/user_data.py`, `convert_string`) gunzips user data that starts with the
 *   gzip magic bytes before it looks for `#cloud-config`.
 * Read it back with `base64 -d | gunzip`, or look at the `locals` block of `cdk.tf.json`.
 */
export function userDataArgument(scope: Construct, cloudConfig: string): string {
  const name = localName(cloudConfig);
  const local = sharedChild(stackShared(scope, 'GpuNodeUserData'), name, (parent, id) => {
    const l = new TerraformLocal(parent, id, tfLiteral(cloudConfig));
    // A name of the content, not of the first construct path that used it.
    l.overrideLogicalId(id);
    return l;
  });
  // One token per local, shared by its nodes: cdktf keeps every token for the life of the process.
  let argument = arguments_.get(local);
  if (argument === undefined) {
    argument = Fn.base64gzip(local.asString);
    arguments_.set(local, argument);
  }
  return argument;
}

const arguments_ = new WeakMap<TerraformLocal, string>();
/** The last text named: a fleet's nodes share one rendered text, hashed once (one entry, so nothing piles up). */
let lastNamed: { text: string; name: string } | undefined;

function localName(cloudConfig: string): string {
  if (lastNamed?.text !== cloudConfig) {
    lastNamed = { text: cloudConfig, name: `user_data_${createHash('sha256').update(cloudConfig).digest('hex').slice(0, 16)}` };
  }
  return lastNamed.name;
}
