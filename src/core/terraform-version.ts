import { TerraformStack } from 'cdktf';

/**
 * States in the stack's `terraform.required_version` the oldest Terraform that the library's output needs
 * (`minor`: 1.`minor`), so an older Terraform fails at `init` with its own clear message instead of a
 * parse error. One constraint per stack, raised as more features are used:
 * `terraform_data` needs 1.4, `plantimestamp()` (the quota preflight) 1.5, `removed` blocks 1.7.
 * A constraint the stack's author set is kept (they may pin a narrower range), unless it is a plain
 * `>= 1.N` floor below what the stack needs, which could only fail later.
 */
export function requireTerraformVersion(stack: TerraformStack, minor: number): void {
  const overrides = (stack as unknown as { rawOverrides?: { terraform?: { required_version?: unknown } } }).rawOverrides;
  const current = overrides?.terraform?.required_version;
  if (current !== undefined) {
    const floor = typeof current === 'string' ? /^>=\s*1\.(\d+)(?:\.0)?$/.exec(current.trim()) : null;
    if (!floor || Number(floor[1]) >= minor) return;
  }
  stack.addOverride('terraform.required_version', `>= 1.${minor}`);
}
