import { Token } from 'cdktf';

/**
 * The power state of a GPU node, mapped to the provider's `power_state`.
 * The cloud may shelve a node after its lifetime; deploying with RUNNING again unshelves it
 * (when GPUs are free), and SHELVED frees the GPUs while keeping the disk.
 */
export class PowerState {
  /** Running (`active`). */
  public static readonly RUNNING = new PowerState('active');
  /** Stopped (`shutoff`): the GPUs stay reserved for the node. */
  public static readonly STOPPED = new PowerState('shutoff');
  /** Shelved and offloaded (`shelved_offloaded`): GPUs freed, the disk kept as an image. */
  public static readonly SHELVED = new PowerState('shelved_offloaded');
  /** Paused (`paused`): memory kept, GPUs stay reserved. */
  public static readonly PAUSED = new PowerState('paused');

  /** A power state by the provider's name: `active`, `shutoff`, `shelved_offloaded` or `paused`. */
  public static of(providerValue: string): PowerState {
    // A token (a variable) is checked by the provider's enum at plan.
    if (Token.isUnresolved(providerValue)) return new PowerState(providerValue);
    const known = [PowerState.RUNNING, PowerState.STOPPED, PowerState.SHELVED, PowerState.PAUSED];
    const match = typeof providerValue === 'string' ? known.find((s) => s.providerValue === providerValue.toLowerCase()) : undefined;
    if (!match) {
      throw new Error(`PowerState: '${providerValue}' is not a power state; use PowerState.RUNNING, STOPPED, SHELVED or PAUSED ` +
        `(provider values ${known.map((s) => s.providerValue).join(', ')})`);
    }
    return match;
  }

  private constructor(
    /** The value of the provider's `power_state`. */
    public readonly providerValue: string,
  ) {}

  /** The provider's `power_state` value. */
  public toString(): string {
    return this.providerValue;
  }
}
