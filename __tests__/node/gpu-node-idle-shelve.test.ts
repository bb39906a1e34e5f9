// GpuNode idleShelve (issue 24): the node's own application credential (access rules, roles, expiry),
// the server metadata that carries it (a reference in cdk.tf.json, never the secret), the idle program,
// step and timer in user_data only when on, bad input at synth, and Nova's user_data limit.
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { TerraformStack } from 'cdktf';
import { GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuNodeProps, GpuRecipe, KeyPair, openstack, Peer } from '../../src';
import { GPU_NODE_CREDENTIAL_METADATA_KEYS, GPU_NODE_METADATA_KEYS, GPU_NODE_PROPERTY_PREFIX } from '../../src/core/contract.generated';
import { nodeContract } from '../../src/core/node-contract';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir, userDataOf } from '../support/checks';

const AUTH = 'https://keystone.example:5000/v3';
const PREFIX = nodeContract().idleMetadataPrefix;
type Options = Partial<GpuNodeProps>;

const build = (options: Options = {}) => synthToDir((app) => {
  const stack = new TerraformStack(app, 'idle');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  new GpuNode(stack, 'Node', {
    nodeName: 'trainer',
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2),
    network: new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] }),
    keyPair: KeyPair.fromName(stack, 'Key', 'alice'),
    ...options,
  });
  return stack;
});
const server = (json: any) => Object.values<any>(json.resource.openstack_compute_instance_v2)[0];
const credentials = (json: any) => Object.entries<any>(json.resource.openstack_identity_application_credential_v3 ?? {});
const files = (text: string) => (YAML.parse(text.replace(/^#cloud-config\n/, '')) as any).write_files as { path: string; content: string }[];
const filePaths = (json: any) => files(userDataOf(json, server(json))).map((f) => f.path);
const recipeEnvOf = (json: any) => files(userDataOf(json, server(json))).find((f) => f.path === '/etc/gpu-node/recipe.env')!.content;

describe('GpuNode idleShelve', () => {
  test('off by default: no credential, no idle metadata, program, step or timer; recipe.env says 0 hours', () => {
    const { json } = build();
    expect(credentials(json)).toEqual([]);
    expect(Object.keys(server(json).metadata).filter((k) => k.startsWith(PREFIX))).toEqual([]);
    expect(filePaths(json).filter((p) => /idle/.test(p))).toEqual([]);
    expect(recipeEnvOf(json)).toContain("GPU_NODE_IDLE_SHELVE_HOURS='0'\n");
    expect(recipeEnvOf(json)).not.toMatch(/GPU_NODE_STEPS='[^']*idle-shelve/);
  });

  test('on: the program, the step before the ready check, both units; afterHours in recipe.env (default 4)', () => {
    const { json } = build({ idleShelve: { authUrl: AUTH } });
    expect(filePaths(json)).toEqual(expect.arrayContaining([
      '/opt/gpu-node/bin/gpu-node-idle', '/opt/gpu-node/steps/idle-shelve.sh',
      '/etc/systemd/system/gpu-node-idle.service', '/etc/systemd/system/gpu-node-idle.timer',
    ]));
    const f = files(userDataOf(json, server(json)));
    expect(f.find((x) => x.path === '/opt/gpu-node/bin/gpu-node-idle')!.content)
      .toBe(fs.readFileSync(path.resolve(__dirname, '../../cloud-init/node/bin/gpu-node-idle'), 'utf8').replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{'));
    expect(recipeEnvOf(json)).toContain("GPU_NODE_IDLE_SHELVE_HOURS='4'\n");
    expect(recipeEnvOf(json)).toMatch(/GPU_NODE_STEPS='[^']* idle-shelve ready-check'/);
    // The step enables the timer once the credential is in place: cloud-init does not.
    const runcmd = (YAML.parse(userDataOf(json, server(json)).replace(/^#cloud-config\n/, '')) as any).runcmd;
    expect(JSON.stringify(runcmd)).not.toContain('gpu-node-idle');
  });

  test('an application credential for this node only: show and act on servers, member role, expiring with the node\'s week; the secret only as a reference', () => {
    const { json, dir } = build({ idleShelve: { authUrl: AUTH, region: 'RegionOne', afterHours: 6 } });
    expectStackPassesChecks(withQuotaInDir(dir));
    const [[id, cred]] = credentials(json);
    expect(cred.name).toBe('trainer-idle-shelve');
    expect(cred.unrestricted).toBe(false);
    expect(cred.roles).toEqual(['member']);
    expect(cred.access_rules).toEqual([
      { service: 'compute', method: 'GET', path: '/v2.1/servers/*' },
      { service: 'compute', method: 'POST', path: '/v2.1/servers/*/action' },
    ]);
    expect(cred.expires_at).toBe('${timeadd(plantimestamp(), "168h")}');
    expect(cred).not.toHaveProperty('secret');
    const meta = server(json).metadata;
    expect(meta[`${PREFIX}auth_url`]).toBe(AUTH);
    expect(meta[`${PREFIX}region`]).toBe('RegionOne');
    expect(meta[`${PREFIX}credential_id`]).toBe(`\${openstack_identity_application_credential_v3.${id}.id}`);
    expect(meta[`${PREFIX}credential_secret`]).toBe(`\${openstack_identity_application_credential_v3.${id}.secret}`);
    // Set at creation only (Nova refuses metadata updates of a shelved server: no 409 at a later deploy).
    expect(server(json).lifecycle.ignore_changes).toContain('metadata');
    expect(recipeEnvOf(json)).toContain("GPU_NODE_IDLE_SHELVE_HOURS='6'\n");
    // No secret anywhere in the file: only references to the credential's attributes.
    const text = fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8');
    expect(text.match(/\.secret\}/g)).toEqual(['.secret}']);
  });

  test('roles as given; no region key without a region', () => {
    const { json } = build({ idleShelve: { authUrl: AUTH, roles: ['reader', 'member'] } });
    expect(credentials(json)[0][1].roles).toEqual(['reader', 'member']);
    expect(server(json).metadata).not.toHaveProperty(`${PREFIX}region`);
  });

  test('an auth URL with template syntax is written as a literal', () => {
    const { json } = build({ idleShelve: { authUrl: 'https://k.example/${path.module}' } });
    expect(server(json).metadata[`${PREFIX}auth_url`]).toBe('https://k.example/$${path.module}');
  });

  test('with the default recipe plus a lifetime it stays far below Nova\'s user_data limit (about 4 KiB more)', () => {
    const recipe = new GpuRecipe();
    const off = recipe._render({ expectedGpus: 2, lifetimeHours: 168 });
    const on = recipe._render({ expectedGpus: 2, lifetimeHours: 168, idleShelveHours: 4 });
    expect(on.base64Bytes - off.base64Bytes).toBeGreaterThan(1024);
    expect(on.base64Bytes - off.base64Bytes).toBeLessThan(5 * 1024);
    // 27 KiB since the contract declares the metadata keys, paths and cluster.env's variables (issue 22): 0.6 KiB;
    // 28 KiB since a Slurm worker re-registers after a refused shelve (gpu_slurm_reregister, on every node): 0.4 KiB.
    expect(on.base64Bytes).toBeLessThanOrEqual(28 * 1024);
  });

  test.each<[string, Options, string]>([
    ['afterHours 0', { idleShelve: { authUrl: AUTH, afterHours: 0 } },
      'idle/Node: idleShelve.afterHours must be a whole number of hours from 1 to 8760, got 0; e.g. 4 (a shelve and an unshelve cost minutes, so short idle times thrash)'],
    ['afterHours 1.5', { idleShelve: { authUrl: AUTH, afterHours: 1.5 } }, 'idle/Node: idleShelve.afterHours must be a whole number of hours from 1 to 8760, got 1.5'],
    ['an auth URL without a scheme', { idleShelve: { authUrl: 'keystone:5000' } },
      "idle/Node: idleShelve.authUrl must be Keystone's URL of up to 255 characters, e.g. 'https://cloud.example:5000/v3', got 'keystone:5000'"],
    ['a region with a space', { idleShelve: { authUrl: AUTH, region: 'Region One' } },
      "idle/Node: idleShelve.region must be a region name (letters, digits, '_', '.', '-'), e.g. 'RegionOne', got 'Region One'"],
    ['no roles', { idleShelve: { authUrl: AUTH, roles: [] } },
      "idle/Node: idleShelve.roles must be one or more Keystone role names (letters, digits, '_', '.', '-'), e.g. ['member'], got []"],
    ['a builder for a snapshot', { idleShelve: { authUrl: AUTH }, sealForSnapshot: true },
      "idle/Node: idleShelve and sealForSnapshot exclude each other (the image would carry the node's credential), got both"],
  ])('%s fails at synth naming the path, the value and the fix', (_what, options, message) => {
    expect(() => build(options)).toThrow(message);
  });

  test('the credential\'s 4 metadata keys count against Nova\'s 128: 118 of the user\'s fit, 119 do not', () => {
    const meta = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(() => build({ idleShelve: { authUrl: AUTH }, metadata: meta(118) })).not.toThrow();
    expect(() => build({ idleShelve: { authUrl: AUTH }, metadata: meta(119) })).toThrow(
      /idle\/Node: metadata must be at most 118 items \(Nova's default quota is 128, the library uses 10\), got 119/);
    expect(() => build({ metadata: meta(122) })).not.toThrow();
  });

  test('the library writes at most the keys the budget counts: the contract\'s own keys and credential keys', () => {
    // The budget (GpuNodeProps.metadata) counts GPU_NODE_METADATA_KEYS and GPU_NODE_CREDENTIAL_METADATA_KEYS.
    const own = (json: any) => Object.keys(server(json).metadata).sort();
    const node = [...GPU_NODE_METADATA_KEYS].map((k) => `${GPU_NODE_PROPERTY_PREFIX}${k}`);
    const credential = [...GPU_NODE_CREDENTIAL_METADATA_KEYS].map((k) => `${PREFIX}${k}`);
    expect(own(build({ lifetimeHours: 72, idleShelve: { authUrl: AUTH, region: 'RegionOne' } }).json)).toEqual([...node, ...credential].sort());
  });

  test('a missing authUrl and a typo are refused by the props check', () => {
    expect(() => build({ idleShelve: {} as any })).toThrow(/idle\/Node: idleShelve\.authUrl must be given/);
    expect(() => build({ idleShelve: { authUrl: AUTH, afterHour: 2 } as any })).toThrow(/afterHour must be a prop of IdleShelveOptions.*Did you mean 'afterHours'\?/);
  });
});
