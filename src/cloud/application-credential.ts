// The cluster's Keystone application credential (openstack_identity_application_credential_v3 of the
// pinned provider 3.4: name, description, expires_at, unrestricted, roles, access_rules{service, method,
// path}; secret and id computed, secret sensitive). Written by hand: the trimmed schema the bindings are
// generated from (provider-schema/) has no identity resources.
import { Fn, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { requireTerraformVersion } from '../core/terraform-version';
import { tfLiteral } from '../core/validation';

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
 * (__tests__/cloud/slurm-power.test.ts) runs the programs against real Keystone access rules. Keystone access rules
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
