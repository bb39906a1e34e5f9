import { PowerState } from '../../src';

const ALL: Array<[string, PowerState, string]> = [
  ['RUNNING', PowerState.RUNNING, 'active'],
  ['STOPPED', PowerState.STOPPED, 'shutoff'],
  ['SHELVED', PowerState.SHELVED, 'shelved_offloaded'],
  ['PAUSED', PowerState.PAUSED, 'paused'],
];

describe('PowerState', () => {
  test.each(ALL)('%s is the provider value %s, also as toString()', (_name, state, providerValue) => {
    expect(state.providerValue).toBe(providerValue);
    expect(String(state)).toBe(providerValue);
  });

  test('the four states are distinct', () => {
    expect(new Set(ALL.map(([, s]) => s.providerValue)).size).toBe(4);
  });

  test.each(ALL)('PowerState.of returns the %s constant itself for its provider value', (_name, state, providerValue) => {
    expect(PowerState.of(providerValue)).toBe(state);
  });

  test('PowerState.of ignores case', () => {
    expect(PowerState.of('SHUTOFF')).toBe(PowerState.STOPPED);
    expect(PowerState.of('Shelved_Offloaded')).toBe(PowerState.SHELVED);
  });

  test.each(['running', 'shelved', 'stopped', '', ' active'])('PowerState.of(%p) fails with the value, the constants and the provider values', (value) => {
    expect(() => PowerState.of(value)).toThrow(new RegExp(
      `^PowerState: '${value}' is not a power state; use PowerState\\.RUNNING, STOPPED, SHELVED or PAUSED ` +
      '\\(provider values active, shutoff, shelved_offloaded, paused\\)$'));
  });
});
