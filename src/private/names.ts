import { Token } from 'cdktf';

/**
 * Checks a name given for a cloud resource; returns it (or undefined when not given).
 * Tokens are passed through, as their value is known only at deploy time.
 */
export function validateName(path: string, prop: string, value: string | undefined): string | undefined {
  if (value === undefined || Token.isUnresolved(value)) return value;
  if (value.length < 1 || value.length > 255 || /[\u0000-\u001f]/.test(value) || value.trim() !== value) {
    throw new Error(`${path}: ${prop} must be 1-255 printable characters without leading or trailing spaces, got '${value}'`);
  }
  return value;
}
