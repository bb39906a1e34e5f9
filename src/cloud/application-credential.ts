// The cluster's Keystone application credential (openstack_identity_application_credential_v3 of the
// pinned provider 3.4: name, description, expires_at, unrestricted, roles, access_rules{service, method,
// path}; secret and id computed, secret sensitive). Written by hand: the trimmed schema the bindings are
// generated from (provider-schema/) has no identity resources.
import { Fn, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { requireTerraformVersion } from '../core/terraform-version';
import { requireKnown, tfLiteral } from '../core/validation';

export interface AccessRule {
  readonly service: string;
  readonly method: string;
  readonly path: string;
}

/**
 * What slurm-suspend and slurm-resume call, as the openstack CLI sends it (python-openstackclient:
 * `server show/shelve/unshelve NAME` looks the name up with GET /servers/NAME and GET /servers/detail?name=,
 * then acts on /servers/ID; `server event list/show` reads os-instance-actions; `server show` also asks the
 * image API for the image's name and shows the id where that is refused: openstackclient/compute/v2/server.py
 * _prep_server_detail). Unchecked here: the compute endpoint's version discovery; the tier scenario
 * (__tests__/cloud-tier/slurm-power.test.ts) runs the programs against real Keystone access rules. Keystone access rules
 * match service type, method and path, with `*` for one path segment; they cannot name the cluster's
 * own servers, so the credential may shelve and unshelve any server of the project.
 */
export const POWER_ACCESS_RULES: AccessRule[] = [
  { service: 'compute', method: 'GET', path: '/v2.1/servers/*' },
  { service: 'compute', method: 'GET', path: '/v2.1/servers/detail' },
  { service: 'compute', method: 'GET', path: '/v2.1/servers' },
  { service: 'compute', method: 'POST', path: '/v2.1/servers/*/action' },
  { service: 'compute', method: 'GET', path: '/v2.1/servers/*/os-instance-actions' },
  { service: 'compute', method: 'GET', path: '/v2.1/servers/*/os-instance-actions/*' },
];

/**
 * What a node's idle shelve (bin/gpu-node-idle) calls: `openstack server shelve <own server id>`. The CLI
 * finds a server given by id with GET /servers/ID (openstacksdk's find, or novaclient's find_resource on
 * Ubuntu 22.04's client), then POSTs the shelve to /servers/ID/action; steps/idle-shelve.sh checks the
 * credential with `server show ID`, the same GET. Keystone access rules cannot name one server: the
 * credential may show, shelve (and, through the same `action` path, stop, reboot or unshelve) any server
 * of the project. Unchecked here: that a cloud's CLI needs no other path; the tier runs the cluster's
 * superset (POWER_ACCESS_RULES).
 */
export const IDLE_SHELVE_ACCESS_RULES: AccessRule[] = [
  { service: 'compute', method: 'GET', path: '/v2.1/servers/*' },
  { service: 'compute', method: 'POST', path: '/v2.1/servers/*/action' },
];

/** Where a credential's OpenStack CLI logs in (SlurmPowerSavingOptions, IdleShelveOptions). */
export interface CredentialTarget {
  readonly authUrl: string;
  readonly region?: string;
  readonly roles?: string[];
}

/**
 * Checks `<prop>.authUrl`, `.region` and `.roles` at synth: written into `metadataOf`'s server metadata
 * and the credential. One set of rules and messages for every construct that makes a credential.
 */
export function checkCredentialTarget(path: string, prop: string, target: CredentialTarget, metadataOf: string): void {
  requireKnown(path, `${prop}.authUrl`, target.authUrl, `written into ${metadataOf} metadata at synth`);
  // Nova keeps metadata values of up to 255 characters.
  if (!/^https?:\/\/[^\s"]+$/.test(target.authUrl ?? '') || target.authUrl.length > 255) {
    throw new Error(`${path}: ${prop}.authUrl must be Keystone's URL of up to 255 characters, e.g. 'https://cloud.example:5000/v3', got '${target.authUrl}'`);
  }
  requireKnown(path, `${prop}.region`, target.region, `written into ${metadataOf} metadata at synth`);
  if (target.region !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(target.region)) {
    throw new Error(`${path}: ${prop}.region must be a region name (letters, digits, '_', '.', '-'), e.g. 'RegionOne', got '${target.region}'`);
  }
  requireKnown(path, `${prop}.roles`, target.roles, 'written into the credential at synth');
  if (target.roles !== undefined && (target.roles.length === 0 || target.roles.some((r) => !/^[A-Za-z0-9_.-]{1,255}$/.test(r)))) {
    throw new Error(`${path}: ${prop}.roles must be one or more Keystone role names (letters, digits, '_', '.', '-'), e.g. ['member'], got ${JSON.stringify(target.roles)}`);
  }
}

export interface ApplicationCredentialConfig {
  readonly name: string;
  readonly description: string;
  /** Hours from the first apply; the credential expires then (later plans keep that time). */
  readonly lifetimeHours?: number;
  /** Role names; Keystone refuses any the deploying user lacks on the project. */
  readonly roles: string[];
  readonly accessRules: AccessRule[];
}

/** @internal */
export class ApplicationCredential extends TerraformResource {
  private readonly config: ApplicationCredentialConfig;

  constructor(scope: Construct, id: string, config: ApplicationCredentialConfig) {
    super(scope, id, {
      terraformResourceType: 'openstack_identity_application_credential_v3',
      terraformGeneratorMetadata: { providerName: 'openstack' },
      // expires_at comes from plantimestamp(), which changes every plan: kept from the first apply.
      lifecycle: config.lifetimeHours !== undefined ? { ignoreChanges: ['expires_at'] } : undefined,
    });
    this.config = config;
    // plantimestamp() needs Terraform 1.5.
    if (config.lifetimeHours !== undefined) requireTerraformVersion(TerraformStack.of(this), 5);
  }

  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** The secret: sensitive in the provider's schema, so it is a reference here and a value in state only. */
  public get secret(): string {
    return Token.asString(this.interpolationForAttribute('secret'));
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return {
      name: tfLiteral(this.config.name),
      description: tfLiteral(this.config.description),
      unrestricted: false,
      roles: this.config.roles.map((r) => tfLiteral(r)),
      // RFC 3339, which the provider parses (timeadd keeps plantimestamp()'s format).
      expires_at: this.config.lifetimeHours !== undefined ? Fn.timeadd(Fn.plantimestamp(), `${this.config.lifetimeHours}h`) : undefined,
      access_rules: this.config.accessRules.map((r) => ({ service: r.service, method: r.method, path: r.path })),
    };
  }
}
