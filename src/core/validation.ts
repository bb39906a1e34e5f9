// Shared input checks: one message shape, `${path}: <prop> must be <rule>, got <value>. <fix>`,
// and value rendering that never prints a token's internal text.
import { Token } from 'cdktf';

/** Whether the value (or any string inside it) is a token that only Terraform resolves. */
export function isToken(value: unknown): boolean {
  // A list token's element ('#{TfToken[...]}') is not detected by Token.isUnresolved.
  return Token.isUnresolved(value) || (typeof value === 'string' && value.includes('#{TfToken['));
}

/** A short, safe rendering of a bad value for an error message. */
export function renderValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (isToken(value)) return '<unresolved token>';
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    // Control characters are shown escaped, so the message stays on one line.
    return `'${shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/** The message of a bad value: path, prop, rule, value, fix. */
export function message(path: string, prop: string, rule: string, value: unknown, fix: string): string {
  return `${path}: ${prop} must be ${rule}, got ${renderValue(value)}. ${fix}`;
}

/** Throws the message of a bad value. */
export function fail(path: string, prop: string, rule: string, value: unknown, fix: string): never {
  throw new Error(message(path, prop, rule, value, fix));
}

/** Throws unless `ok`; skips tokens (their value is checked by Terraform or the cloud). */
export function check(ok: boolean, path: string, prop: string, rule: string, value: unknown, fix: string): void {
  if (!ok && !isToken(value)) fail(path, prop, rule, value, fix);
}

/** The words of every message about a token where a plain value is needed; `because` follows. */
export const TOKEN_CANNOT = 'a token cannot be used here because';

/**
 * Throws when `value` is a token although it must be known at synth (rendered into user_data or
 * hashed into a recipe key).
 */
export function requireKnown(path: string, prop: string, value: unknown, why: string): void {
  if (isToken(value)) {
    throw new Error(`${path}: ${prop} must be a plain value known at synth, got <unresolved token>; ${TOKEN_CANNOT} it is ${why}. ` +
      'Pass the value itself, not a reference or a TerraformVariable');
  }
}

/**
 * The enum member `value` names, or an error listing the members (fail closed: a JSON config's
 * 'RETAIN' or a typo never falls through to a default).
 */
export function checkEnum<T extends string>(path: string, prop: string, value: unknown, members: { [key: string]: T }, enumName: string): T {
  const values = Object.values(members);
  if (typeof value === 'string' && (values as string[]).includes(value)) return value as T;
  const names = Object.keys(members).map((k) => `${enumName}.${k}`).join(', ');
  return fail(path, prop, `one of ${names} (values ${values.map((v) => `'${v}'`).join(', ')})`, value, `Use ${enumName}.${Object.keys(members)[0]} or another member`);
}

// The escaping rule lives in template.ts; re-exported for the constructs that import it from here.
export { tfLiteral, tfLiteralMap } from './template';

/** The strings `value` holds more than once. */
export function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const v of values) (seen.has(v) ? twice : seen).add(v);
  return [...twice];
}

/** Whether `text` is a Unix login name as `useradd` accepts by default (NAME_REGEX). */
export function isUnixUserName(text: string): boolean {
  return /^[a-z_][a-z0-9_-]{0,31}$/.test(text);
}

/** Nova's server metadata limits (nova/api/validation/parameter_types.py `metadata`). */
export const NOVA_METADATA = { keyPattern: /^[a-zA-Z0-9-_:. ]{1,255}$/, maxValue: 255, maxItems: 128 } as const;
/** Nova's server tag limits (nova/api/openstack/compute/schemas/server_tags.py: 1-60 chars, no ',' '/'; 50 per server). */
export const NOVA_TAGS = { maxLength: 60, maxItems: 50 } as const;

/** The most GPUs one server carries (16 on the largest HGX systems); a larger count is a typo. */
export const MAX_GPUS_PER_FLAVOR = 16;

/**
 * The longest lifetime, in hours (10 years): Terraform's timeadd() takes a Go duration, which ends at about
 * 292 years (2,562,047 h), and a shelve time past year 9999 fails at plan.
 */
export const MAX_LIFETIME_HOURS = 87600;

/** Nova and Cinder availability zones: a name without whitespace. */
export function checkZone(path: string, prop: string, zone: string | undefined): void {
  if (zone === undefined) return;
  check(/^[^\s]{1,255}$/.test(zone), path, prop, '1-255 characters without whitespace', zone,
    "Use the zone's name as `openstack availability zone list` shows it");
}

/** Server tags as Nova accepts them. */
export function checkTags(path: string, prop: string, tags: readonly string[], max: number = NOVA_TAGS.maxItems): void {
  check(tags.length <= max, path, prop, `at most ${max} tags`, tags.length, 'Drop some tags or move facts into metadata');
  for (const tag of tags) {
    check(typeof tag === 'string' && tag.length >= 1 && tag.length <= NOVA_TAGS.maxLength && !/[,/\u0000-\u001f\u007f]/.test(tag),
      path, `${prop} entry`, `1-${NOVA_TAGS.maxLength} characters without ',', '/' or control characters`, tag, 'Shorten or rename the tag');
  }
  const twice = duplicates(tags.filter((t) => !isToken(t)));
  check(twice.length === 0, path, prop, 'distinct tags', twice[0], 'Nova keeps tags as a set; list each tag once');
}
