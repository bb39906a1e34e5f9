// Runtime checks of props objects for JavaScript and JSON-config callers, whom the TypeScript
// types do not protect: unknown props (typos), missing required props, values of the wrong type.
// Every prop of every public props interface is listed here; tests/validation checks that none is missing.
import { Token } from 'cdktf';
import { isToken, renderValue } from './validation';

/** What one prop may hold. */
export type PropKind =
  | 'string' | 'number' | 'boolean' | 'string[]' | 'map'
  | { readonly instanceOf: string; readonly name: string }
  | { readonly shape: readonly string[]; readonly name: string }
  | { readonly arrayOf: PropKind }
  | { readonly oneOf: readonly PropKind[] }
  | { readonly props: PropSchema; readonly name: string };

export interface PropSpec {
  readonly kind: PropKind;
  readonly required?: boolean;
}

export type PropSchema = { readonly [prop: string]: PropSpec };

/** A required prop. */
export function req(kind: PropKind): PropSpec {
  return { kind, required: true };
}

/** An optional prop. */
export function opt(kind: PropKind): PropSpec {
  return { kind };
}

/** An instance of the named class (or a subclass), by the class names on its prototype chain. */
export function instance(name: string): PropKind {
  return { instanceOf: name, name };
}

function isInstanceOf(value: unknown, className: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (let p = Object.getPrototypeOf(value); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === className) return true;
  }
  return false;
}

/** An object with these members (an interface such as INetwork). */
export function shape(name: string, ...members: string[]): PropKind {
  return { shape: members, name };
}

/** Throws when `props` has an unknown, missing or ill-typed prop. */
export function checkProps(path: string, what: string, props: unknown, schema: PropSchema, prefix = ''): void {
  if (props === undefined || props === null || typeof props !== 'object' || Array.isArray(props)) {
    throw new Error(`${path}: ${prefix || 'props'} must be an object of ${what}, got ${renderValue(props)}. Pass { ${Object.keys(schema).slice(0, 3).join(', ')}, ... }`);
  }
  const given = props as { [key: string]: unknown };
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      const near = Object.keys(schema).find((k) => k.toLowerCase() === key.toLowerCase()) ??
        Object.keys(schema).find((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
      throw new Error(`${path}: ${prefix}${key} must be a prop of ${what}, got ${renderValue(given[key])}. ` +
        (near ? `Did you mean '${near}'?` : `Known props: ${Object.keys(schema).join(', ')}`));
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const value = given[key];
    if (value === undefined) {
      if (spec.required) {
        throw new Error(`${path}: ${prefix}${key} must be given (${describe(spec.kind)}), got undefined. It is required in ${what}`);
      }
      continue;
    }
    checkKind(path, `${prefix}${key}`, value, spec.kind, what);
  }
}

function checkKind(path: string, prop: string, value: unknown, kind: PropKind, what: string): void {
  if (isToken(value) && typeof value !== 'object') return;
  if (kind !== 'string[]' && typeof kind === 'object' && 'props' in kind) {
    checkProps(path, kind.name, value, kind.props, `${prop}.`);
    return;
  }
  if (typeof kind === 'object' && 'oneOf' in kind && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const nested = kind.oneOf.find((k): k is { readonly props: PropSchema; readonly name: string } => typeof k === 'object' && 'props' in k);
    if (nested) {
      checkProps(path, nested.name, value, nested.props, `${prop}.`);
      return;
    }
  }
  if (!matches(value, kind)) {
    throw new Error(`${path}: ${prop} must be ${describe(kind)}, got ${renderValue(value)}. Check the ${what} you pass`);
  }
  if (typeof kind === 'object' && 'arrayOf' in kind && typeof kind.arrayOf === 'object' && 'props' in kind.arrayOf) {
    const item = kind.arrayOf;
    (value as unknown[]).forEach((v, i) => checkProps(path, item.name, v, item.props, `${prop}[${i}].`));
  }
}

function matches(value: unknown, kind: PropKind): boolean {
  if (isToken(value) && typeof value !== 'object') return true;
  switch (kind) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    case 'string[]': return Array.isArray(value) && (Token.isUnresolved(value) || value.every((v) => typeof v === 'string'));
    case 'map': return typeof value === 'object' && value !== null && !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string');
  }
  if ('instanceOf' in kind) return isInstanceOf(value, kind.instanceOf);
  if ('shape' in kind) {
    return typeof value === 'object' && value !== null && kind.shape.every((m) => (value as { [k: string]: unknown })[m] !== undefined);
  }
  if ('arrayOf' in kind) return Array.isArray(value) && value.every((v) => matches(v, kind.arrayOf));
  if ('oneOf' in kind) return kind.oneOf.some((k) => matches(value, k));
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(kind: PropKind): string {
  switch (kind) {
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return 'true or false';
    case 'string[]': return 'an array of strings';
    case 'map': return 'an object of string values';
  }
  if ('instanceOf' in kind) return `a ${kind.name}`;
  if ('shape' in kind) return `a ${kind.name} (an object with ${kind.shape.join(', ')})`;
  if ('arrayOf' in kind) return `an array of ${describe(kind.arrayOf).replace(/^an? /, '')}`;
  if ('oneOf' in kind) return kind.oneOf.map(describe).join(' or ');
  return `a ${kind.name} object`;
}

/** Levenshtein distance, for "did you mean" on typos. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
