import { Token } from 'cdktf';
import { renderValue, TOKEN_CANNOT } from './validation';

/**
 * Checks a name given for a cloud resource; returns it (or undefined when not given).
 * Tokens are passed through, as their value is known only at deploy time.
 */
export function validateName(path: string, prop: string, value: string | undefined): string | undefined {
  if (value === undefined || Token.isUnresolved(value)) return value;
  if (value.length < 1 || value.length > 255 || /[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value) {
    throw new Error(`${path}: ${prop} must be 1-255 printable characters without leading or trailing spaces, got ${renderValue(value)}`);
  }
  return value;
}

/** The given name, checked, or else one made from the construct path (`stack/Node` -> `stack-Node`). */
export function nameOrDefault(path: string, prop: string, value: string | undefined): string {
  return validateName(path, prop, value) ?? path.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(-200);
}

/** Throws when a value that is rendered into user_data at synth time is a token. */
export function requireResolved(path: string, prop: string, value: unknown): void {
  if (Token.isUnresolved(value)) {
    throw new Error(`${path}: ${prop} must be a plain value known at synth, got <unresolved token>; ${TOKEN_CANNOT} it is written into ` +
      "the node's user_data at synth time. Pass the value itself, not a reference to another resource or a variable");
  }
}
