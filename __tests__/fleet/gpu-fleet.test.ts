import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import {
  GpuFleet, GpuFleetProps, GpuFlavor, GpuModel, GpuNetwork, GpuRecipe, KeyPair, openstack, Peer, Port, ServerGroupPolicy,
} from '../../src';
import { withQuota, withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, REFERENCE_SCHEMA, synthToDir, userDataOf } from '../support/checks';
import { sharedCheckGap, testUnless } from '../support/skip';
import { inOrder } from '../support/messages';

const LAB = Peer.ipv4('10.0.0.0/8');
type Options = Omit<GpuFleetProps, 'network' | 'flavor'>;

function fleetStack(stack: TerraformStack, options: Options, newNetwork = false): GpuFleet {
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = newNetwork ? new GpuNetwork(stack, 'Net', { sshFrom: [LAB] }) : GpuNetwork.forUser(stack, 'Net', 'alice');
  return new GpuFleet(stack, 'Fleet', {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2),
    network,
    keyPair: KeyPair.fromName(stack, 'Key', 'alice', { privateKeyHint: '~/.ssh/id_ed25519' }),
    ...options,
  });
}

function synth(options: Options, newNetwork = false) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const fleet = fleetStack(stack, options, newNetwork);
  return { fleet, json: JSON.parse(Testing.synth(stack)) };
}
const servers = (json: any) => Object.values<any>(json.resource.openstack_compute_instance_v2);

describe('GpuFleet', () => {
  test('metadata: the same on every node, next to the library\'s own keys; a literal ${ stays literal', () => {
    const { json } = synth({ count: 2, sshFrom: [LAB], metadata: { team: 'vision', port_of_1: '${openstack_networking_port_v2.x.id}' } });
    for (const server of servers(json)) {
      expect(server.metadata).toEqual(expect.objectContaining({ team: 'vision', gpu_node_recipe_name: 'gpu-base' }));
    }
    // A literal `${` from the user is escaped like every other user string.
    expect(servers(json)[0].metadata.port_of_1).toBe('$${openstack_networking_port_v2.x.id}');
  });

  test('count: N servers named <fleet>-<n>, all in one soft-anti-affinity server group', () => {
    const { fleet, json } = synth({ count: 3, sshFrom: [LAB] });
    expect(fleet.nodes.map((n) => n.nodeName)).toEqual(['test-Fleet-1', 'test-Fleet-2', 'test-Fleet-3']);
    const groups = Object.entries<any>(json.resource.openstack_compute_servergroup_v2);
    expect(groups).toHaveLength(1);
    const [groupId, group] = groups[0];
    expect(group).toEqual({ name: 'test-Fleet', policies: ['soft-anti-affinity'] });
    expect(servers(json).map((s) => s.name).sort()).toEqual(['test-Fleet-1', 'test-Fleet-2', 'test-Fleet-3']);
    for (const server of servers(json)) {
      expect(server.scheduler_hints).toEqual([{ group: `\${openstack_compute_servergroup_v2.${groupId}.id}` }]);
      expect(server.flavor_name).toBe('g1-2x2080.medium');
    }
  });

  test('the recipe is rendered once: every server uses the same user_data local', () => {
    const { fleet, json } = synth({ count: 3, sshFrom: [LAB], recipe: new GpuRecipe({ name: 'train' }) });
    expect(new Set(servers(json).map((s) => s.user_data)).size).toBe(1);
    expect(Object.keys(json.locals).filter((k) => k.startsWith('user_data_'))).toHaveLength(1);
    expect(new Set(fleet.nodes.map((n) => n.userData)).size).toBe(1);
    expect(userDataOf(json, servers(json)[0])).toContain("GPU_NODE_EXPECTED_GPUS='2'");
  });

  test('nodeNames key the nodes by name', () => {
    const { fleet, json } = synth({ nodeNames: ['train-a', 'train-b'], sshFrom: [LAB] });
    expect(fleet.nodes.map((n) => n.node.id)).toEqual(['train-a', 'train-b']);
    expect(servers(json).map((s) => s.name).sort()).toEqual(['train-a', 'train-b']);
  });

  test.each([ServerGroupPolicy.ANTI_AFFINITY, ServerGroupPolicy.AFFINITY])('policy %s', (policy) => {
    const { json } = synth({ count: 2, policy });
    expect(Object.values<any>(json.resource.openstack_compute_servergroup_v2)[0].policies).toEqual([policy]);
  });

  test('members reach each other: one shared group with a self-referencing all-traffic rule, SSH from sshFrom', () => {
    const { fleet, json } = synth({ count: 2, sshFrom: [LAB], ingress: [{ port: Port.JUPYTER }] });
    const [sgId] = Object.keys(json.resource.openstack_networking_secgroup_v2);
    const self = `\${openstack_networking_secgroup_v2.${sgId}.id}`;
    expect(Object.keys(json.resource.openstack_networking_secgroup_v2)).toHaveLength(1);
    const rules = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2);
    expect(rules.map((r) => `${r.protocol ?? 'any'} ${r.port_range_min ?? '-'} ${r.remote_ip_prefix ?? (r.remote_group_id === self ? 'members' : r.remote_group_id)}`).sort())
      .toEqual(['any - members', 'icmp - 10.0.0.0/8', 'tcp 22 10.0.0.0/8', 'tcp 8888 10.0.0.0/8']);
    for (const port of Object.values<any>(json.resource.openstack_networking_port_v2)) expect(port.security_group_ids).toEqual([self]);
    expect(fleet.securityGroup.securityGroupName).toBe('test-Fleet-members');
  });

  test('on a new network the ports carry the network\'s group and the fleet\'s', () => {
    const { json } = synth({ count: 2 }, true);
    const groups = Object.keys(json.resource.openstack_networking_secgroup_v2);
    expect(groups).toHaveLength(2);
    for (const port of Object.values<any>(json.resource.openstack_networking_port_v2)) {
      expect(port.security_group_ids).toEqual([
        expect.stringMatching(/^\$\{openstack_networking_secgroup_v2\.Net_SecurityGroup_\w+\.id\}$/),
        expect.stringMatching(/^\$\{openstack_networking_secgroup_v2\.Fleet_SecurityGroup_\w+\.id\}$/),
      ]);
    }
  });

  test('per-node outputs and one SSH config for all nodes', () => {
    const { fleet, json } = synth({ count: 2, sshFrom: [LAB] });
    const names = Object.keys(json.output);
    expect(names.filter((n) => /SshCommand/.test(n))).toHaveLength(2);
    const config = Object.entries<any>(json.output).find(([n]) => /^Fleet_SshConfig/.test(n))![1].value;
    expect(config).toMatch(new RegExp([
      '^Host test-Fleet-1\\n  HostName \\$\\{openstack_networking_floatingip_v2\\.Fleet_test-Fleet-1_FloatingIp_\\w+\\.address\\}\\n',
      '  User ubuntu\\n  IdentityFile ~/\\.ssh/id_ed25519\\n\\nHost test-Fleet-2\\n',
    ].join('')));
    expect(fleet.sshConfig.match(/^Host /gm)).toHaveLength(2);
  });

  test('no secret in the synthesized JSON', () => {
    const text = JSON.stringify(synth({ count: 2, sshFrom: [LAB] }).json);
    expect(text).not.toMatch(/"(password|private_key|secret)"/i);
  });

  test.each<[string, Options, boolean, string[]]>([
    ['neither count nor nodeNames', {}, false, ['test/Fleet: give exactly one of count and nodeNames, got neither']],
    ['both', { count: 1, nodeNames: ['a'] }, false, ['test/Fleet: give exactly one of count and nodeNames, got both']],
    ['count 0', { count: 0 }, false, ['test/Fleet: count must be a whole number from 1 to 64', 'got 0']],
    ['count 2.5', { count: 2.5 }, false, ['test/Fleet: count must be a whole number', 'got 2.5']],
    ['a name twice', { nodeNames: ['a', 'a'] }, false, ["test/Fleet: nodeNames lists 'a' twice"]],
    ['no names', { nodeNames: [] }, false, ['test/Fleet: nodeNames must list 1 to 64 names, got 0']],
    ['one volume name for all', { count: 2, dataVolume: { sizeGiB: 10, volumeName: 'data' } }, false,
      ["test/Fleet: dataVolume.volumeName would give every node's volume the same name, got 'data'"]],
    ['sshFrom with the network\'s group', { count: 1, sshFrom: [LAB] }, true, ['test/Fleet: sshFrom applies only when the network brings no security group']],
    ['maxServerPerHost with the default policy', { count: 2, maxServerPerHost: 1 }, false,
      ['test/Fleet/ServerGroup: maxServerPerHost applies only to ServerGroupPolicy.ANTI_AFFINITY']],
  ])('%s is refused with the path and the fix', (_why, options, newNetwork, parts) => {
    expect(() => synth(options, newNetwork)).toThrow(inOrder(...parts));
  });

  test('passes the provider schema check and terraform plan (existing and new network)', () => {
    for (const newNetwork of [false, true]) {
      const { dir, json } = synthToDir((app) => {
        const stack = new TerraformStack(app, `fleet-${newNetwork ? 'new' : 'existing'}`);
        fleetStack(stack, { count: 2, sshFrom: newNetwork ? undefined : [LAB], policy: ServerGroupPolicy.ANTI_AFFINITY, maxServerPerHost: 1 }, newNetwork);
        return stack;
      });
      expect(servers(json)).toHaveLength(2);
      expectStackPassesChecks(withQuotaInDir(dir));
    }
  });
});

describe('GpuFleet sshProxyJump', () => {
  const fleet = (sshProxyJump: string, sshConfigOutput?: boolean) => {
    const stack = new TerraformStack(Testing.app(), 'ml');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    new GpuFleet(stack, 'Train', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, count: 2, floatingIp: false, sshProxyJump, sshConfigOutput });
    return JSON.parse(Testing.synth(stack));
  };

  test('the nodes\' ssh commands jump (-J) and SshConfig has ProxyJump; sshConfigOutput: false leaves SshConfig out', () => {
    const json = fleet('ubuntu@bastion.example.org');
    const commands = Object.entries<any>(json.output).filter(([k]) => k.includes('SshCommand')).map(([, o]) => o.value);
    expect(commands).toHaveLength(2);
    for (const c of commands) expect(c).toMatch(/^ssh -i <no keypair> -J ubuntu@bastion\.example\.org ubuntu@/);
    const config = Object.entries<any>(json.output).find(([k]) => k.includes('SshConfig'))![1].value;
    expect(config.match(/  ProxyJump ubuntu@bastion\.example\.org\n/g)).toHaveLength(2);
    expect(Object.keys(fleet('ubuntu@bastion', false).output).filter((k) => k.includes('SshConfig'))).toEqual([]);
  });

  test('a jump host with spaces or quotes is an error naming the node and the form', () => {
    expect(() => fleet('ubuntu@host -o ProxyCommand=x')).toThrow(/ml\/Train\/ml-Train-1: sshProxyJump must be \[user@\]host\[:port\] as ssh -J takes it, got 'ubuntu@host -o ProxyCommand=x'/);
  });
});

describe('GpuFleet takes every node option', () => {
  const rolloutOf = (json: any) => Object.entries<any>(json.resource.terraform_data).filter(([k]) => /_Rollout_/.test(k));

  test('rolloutToken and replaceOnChange reach every node\'s rollout trigger', () => {
    const { json } = synth({ count: 2, sshFrom: [LAB], rolloutToken: '2026-12-07', replaceOnChange: true });
    const triggers = rolloutOf(json);
    expect(triggers).toHaveLength(2);
    for (const [, trigger] of triggers) {
      expect(trigger.triggers_replace).toEqual(expect.objectContaining({ token: '2026-12-07', flavor: 'g1-2x2080.medium' }));
    }
  });

  test('tags, availability zone, lifetime warning and server timeouts reach every server', () => {
    const { fleet, json } = synth({
      count: 2, sshFrom: [LAB], tags: ['team-vision', '${not-a-reference}'], availabilityZone: 'gpu-az',
      lifetimeWarningHours: 6, serverTimeouts: { createMinutes: 60 },
    });
    for (const server of servers(json)) {
      expect(server.tags).toEqual(['team-vision', '$${not-a-reference}']);
      expect(server.availability_zone).toBe('gpu-az');
      expect(server.timeouts.create).toBe('60m');
    }
    // One recipe rendering for the fleet, with the warning in it.
    expect(userDataOf(json, servers(json)[0])).toContain("GPU_NODE_WARN_HOURS='6'");
    expect(new Set(fleet.nodes.map((n) => n.userData.text)).size).toBe(1);
  });

  test('a bad node option names the node and the option, as for a GpuNode', () => {
    expect(() => synth({ count: 1, lifetimeWarningHours: 500 })).toThrow(inOrder('test/Fleet/test-Fleet-1: lifetimeWarningHours must be a whole number', 'got 500'));
    expect(() => synth({ count: 1, rolloutToken: 7 as any })).toThrow(inOrder('test/Fleet', 'rolloutToken must be a string', 'got 7'));
  });

  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);
  testUnless(why, 'a new rollout token replaces every server of a deployed fleet and keeps its data volumes', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-rollout-'));
    const dir = path.join(work, 'stack');
    const state = path.join(work, 'terraform.tfstate');
    const synthInto = (rolloutToken: string) => {
      const { dir: out, json } = synthToDir((app) => {
        const stack = new TerraformStack(app, 'fleet');
        fleetStack(stack, { count: 2, sshFrom: [LAB], floatingIp: false, rolloutToken, dataVolume: { sizeGiB: 10 } });
        return stack;
      });
      // The stand-in leaves all_fixed_ips empty, which the outputs' element() refuses.
      delete json.output;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify(withQuota(json)));
      fs.rmSync(out, { recursive: true, force: true });
    };
    const tf = (command: string) => spawnSync('bash',
      [tfCheck, '--schema', REFERENCE_SCHEMA, '--state', state, '--timeout', '240', dir, command], { encoding: 'utf8' });
    synthInto('v1');
    expect(tf('apply').stdout).toMatch(/Apply complete!/);
    synthInto('v1');
    expect(tf('plan').stdout).toMatch(/No changes\./);
    synthInto('v2');
    const plan = tf('plan').stdout;
    expect(plan.match(/openstack_compute_instance_v2\.Fleet_\S+ will be replaced/g)).toHaveLength(2);
    expect(plan).not.toMatch(/openstack_blockstorage_volume_v3\.\S+ (must|will) be (replaced|destroyed)/);
    fs.rmSync(work, { recursive: true, force: true });
  });
});
