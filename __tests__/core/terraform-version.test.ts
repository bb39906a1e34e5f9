import { TerraformStack, Testing } from 'cdktf';
import { requireTerraformVersion } from '../../src/core/terraform-version';

function versionAfter(build: (stack: TerraformStack) => void): unknown {
  const stack = new TerraformStack(Testing.app(), 's');
  build(stack);
  return JSON.parse(Testing.synth(stack)).terraform?.required_version;
}

test('a stack gets the highest floor its features need, once', () => {
  expect(versionAfter((s) => requireTerraformVersion(s, 4))).toBe('>= 1.4');
  expect(versionAfter((s) => { requireTerraformVersion(s, 4); requireTerraformVersion(s, 7); requireTerraformVersion(s, 5); })).toBe('>= 1.7');
  expect(versionAfter(() => undefined)).toBeUndefined();
});

test("an author's constraint is kept, unless it is a plain floor below what the stack needs", () => {
  expect(versionAfter((s) => { s.addOverride('terraform.required_version', '~> 1.9.0'); requireTerraformVersion(s, 7); })).toBe('~> 1.9.0');
  expect(versionAfter((s) => { s.addOverride('terraform.required_version', '>= 1.10'); requireTerraformVersion(s, 7); })).toBe('>= 1.10');
  expect(versionAfter((s) => { s.addOverride('terraform.required_version', '>= 1.7'); requireTerraformVersion(s, 7); })).toBe('>= 1.7');
  // A floor of 1.3 could only fail later, on terraform_data or `removed`: raised.
  expect(versionAfter((s) => { s.addOverride('terraform.required_version', '>= 1.3'); requireTerraformVersion(s, 7); })).toBe('>= 1.7');
  expect(versionAfter((s) => { s.addOverride('terraform.required_version', '>= 1.6.0'); requireTerraformVersion(s, 7); })).toBe('>= 1.7');
});

test('floors are read exactly: spacing, two-digit minors, ranges and other overrides', () => {
  const after = (constraint: unknown, minor: number) => versionAfter((s) => {
    s.addOverride('locals.other', 1);
    s.addOverride('terraform.required_version', constraint);
    requireTerraformVersion(s, minor);
  });
  expect(after('>=1.3', 7)).toBe('>= 1.7');
  expect(after(' >= 1.3 ', 7)).toBe('>= 1.7');
  expect(after('>= 1.10', 12)).toBe('>= 1.12');
  // A range is the author's own choice, even when its lower end is old.
  expect(after('>= 1.3, < 2.0', 7)).toBe('>= 1.3, < 2.0');
  expect(after('< 2.0, >= 1.3', 7)).toBe('< 2.0, >= 1.3');
  expect(after(7, 7)).toBe(7);
  expect(versionAfter((s) => { s.addOverride('locals.other', 1); requireTerraformVersion(s, 4); })).toBe('>= 1.4');
});

