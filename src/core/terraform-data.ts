import {
  anyToHclTerraform,
  anyToTerraform,
  hashMapper,
  hashMapperHcl,
  ITerraformDependable,
  TerraformCount,
  TerraformResource,
  TerraformResourceConfig,
  TerraformResourceLifecycle,
  TerraformStack,
  Token,
} from 'cdktf';
import { Construct } from 'constructs';
import { requireTerraformVersion } from './terraform-version';

/** Terraform's built-in `terraform_data` resource (Terraform 1.4 and newer). */
export const TERRAFORM_DATA_MIN_MINOR = 4;

export interface TerraformDataConfig {
  readonly input?: { [key: string]: unknown };
  readonly triggersReplace?: { [key: string]: unknown };
  readonly count?: TerraformCount;
  readonly dependsOn?: ITerraformDependable[];
  readonly lifecycle?: TerraformResourceLifecycle;
  readonly provisioners?: TerraformResourceConfig['provisioners'];
}

/**
 * `terraform_data`, as cdktf's `DataResource` writes it, but without its synth-time validation,
 * which runs `terraform version` once per resource: that made synth fail on machines without a
 * terraform binary and took most of the synth time. The version need is stated instead in the
 * stack's `terraform.required_version`, so an old Terraform fails at `init` with its own message.
 * @internal
 */
export class TerraformData extends TerraformResource {
  private readonly config: TerraformDataConfig;

  constructor(scope: Construct, id: string, config: TerraformDataConfig = {}) {
    super(scope, id, {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      count: config.count,
      dependsOn: config.dependsOn,
      lifecycle: config.lifecycle,
      provisioners: config.provisioners,
    });
    this.config = config;
    requireTerraformVersion(TerraformStack.of(this), TERRAFORM_DATA_MIN_MINOR);
  }

  public get id(): string {
    return this.getStringAttribute('id');
  }

  /** The `output` attribute: the `input` after apply. */
  public get output(): { [key: string]: string } {
    return Token.asStringMap(this.interpolationForAttribute('output'));
  }

  protected synthesizeAttributes(): { [name: string]: any } {
    return {
      input: hashMapper(anyToTerraform)(this.config.input),
      triggers_replace: hashMapper(anyToTerraform)(this.config.triggersReplace),
    };
  }

  protected synthesizeHclAttributes(): { [name: string]: any } {
    return {
      input: hashMapperHcl(anyToHclTerraform)(this.config.input),
      triggers_replace: hashMapperHcl(anyToHclTerraform)(this.config.triggersReplace),
    };
  }
}
