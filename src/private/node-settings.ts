// A node's lifetime and server timeouts, checked: plain specs in, so the constructs' types stay out.
import { computeInstanceV2 } from '../../.gen/providers/openstack';
import { requireResolved } from './names';
import { MAX_LIFETIME_HOURS } from './validation';

/** `ServerTimeouts`, as this module reads it. */
export interface ServerTimeoutSpec {
  readonly createMinutes?: number;
  readonly updateMinutes?: number;
  readonly deleteMinutes?: number;
}

/** What of a cloud profile decides a node's lifetime. */
export interface LifetimeProfile {
  readonly name: string;
  readonly maxLifetimeHours?: number;
}

/** The provider's `timeouts` block; throws naming `path` for a value out of range. */
export function serverTimeouts(path: string, given: ServerTimeoutSpec | undefined): computeInstanceV2.ComputeInstanceV2Timeouts {
  const minutes = (name: keyof ServerTimeoutSpec, fallback: number): string => {
    const value = given?.[name] ?? fallback;
    if (!(Number.isInteger(value) && value >= 1 && value <= 24 * 60)) {
      throw new Error(`${path}: serverTimeouts.${name} must be a whole number of minutes from 1 to 1440, got ${value}`);
    }
    return `${value}m`;
  };
  return { create: minutes('createMinutes', 30), update: minutes('updateMinutes', 15), delete: minutes('deleteMinutes', 15) };
}

/** The node's lifetime in hours (undefined: none), checked against the profile's limit and the warning. */
export function resolveLifetime(path: string, profile: LifetimeProfile, hours: number | undefined, warningHours: number | undefined): number | undefined {
  const max = profile.maxLifetimeHours;
  requireResolved(path, 'lifetimeHours', hours);
  requireResolved(path, 'lifetimeWarningHours', warningHours);
  if (hours !== undefined) {
    if (!(Number.isInteger(hours) && hours > 0 && hours <= MAX_LIFETIME_HOURS)) {
      throw new Error(`${path}: lifetimeHours must be a whole number from 1 to ${MAX_LIFETIME_HOURS} (10 years; the shelve time is ` +
        `computed with Terraform's timeadd), got ${hours}`);
    }
    if (max !== undefined && hours > max) {
      throw new Error(`${path}: lifetimeHours ${hours} exceeds the ${max} h (${max / 24} days) that cloud profile '${profile.name}' ` +
        `allows before it shelves a node; use at most ${max}`);
    }
  }
  const lifetime = hours ?? max;
  if (warningHours !== undefined && lifetime === undefined) {
    throw new Error(`${path}: lifetimeWarningHours must be given with a lifetime (the warning comes before the shelve time, and cloud ` +
      `profile '${profile.name}' sets none), got ${warningHours}; set lifetimeHours too, or leave lifetimeWarningHours out`);
  }
  if (warningHours !== undefined && !(Number.isInteger(warningHours) && warningHours >= 0 && (lifetime === undefined || warningHours < lifetime))) {
    throw new Error(`${path}: lifetimeWarningHours must be a whole number from 0 to below the lifetime (${lifetime ?? 'none'} h), got ${warningHours}`);
  }
  return lifetime;
}
