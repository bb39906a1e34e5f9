import { TerraformStack, Testing } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer, PowerState } from '../../src';

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

describe('STOPPED and PAUSED survive the cloud\'s shelve: applied by the power control, not the provider', () => {
  function synthNode(powerState?: PowerState, serverTimeouts?: any): any {
    const stack = new TerraformStack(Testing.app(), 'ml');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, powerState, serverTimeouts });
    return JSON.parse(Testing.synth(stack));
  }
  const server = (json: any) => Object.values(json.resource.openstack_compute_instance_v2)[0] as any;
  const control = (json: any) => Object.entries(json.resource.terraform_data ?? {}).find(([k]) => k.includes('PowerControl'))?.[1] as any;

  test.each([[PowerState.STOPPED, 'shutoff'], [PowerState.PAUSED, 'paused']])('%s: the provider ignores power_state; a terraform_data brings the server there when the state or the server changes', (state, value) => {
    const json = synthNode(state);
    expect(server(json).lifecycle.ignore_changes).toContain('power_state');
    const c = control(json);
    expect(c.triggers_replace).toEqual({ server: expect.stringMatching(/openstack_compute_instance_v2\..*\.id/), powerState: value });
    expect(c.provisioner[0]['local-exec'].command).toMatch(/^bash .*gpu-node-watch\.sh power$/);
    expect(c.provisioner[0]['local-exec'].environment).toMatchObject({ POWER_WANT: value, OS_CLOUD: 'openstack', WATCH_NODE: 'ml/Node' });
  });

  test.each([PowerState.RUNNING, PowerState.SHELVED])('%s: the provider applies it (it unshelves, starts or shelves from any state); no power control', (state) => {
    const json = synthNode(state);
    expect(server(json).lifecycle.ignore_changes).not.toContain('power_state');
    expect(control(json)).toBeUndefined();
  });

  test('the server waits a bounded time: create 30, update (unshelve) 15, delete 15 minutes by default, configurable', () => {
    expect(server(synthNode()).timeouts).toEqual({ create: '30m', update: '15m', delete: '15m' });
    expect(server(synthNode(undefined, { updateMinutes: 5 })).timeouts).toEqual({ create: '30m', update: '5m', delete: '15m' });
    expect(() => synthNode(undefined, { updateMinutes: 0.5 })).toThrow(/ml\/Node: serverTimeouts.updateMinutes must be a whole number of minutes from 1 to 1440, got 0.5/);
  });
});
