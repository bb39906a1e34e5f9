// Bad input, round three: the classes of defect a hostile-input round found over fleets, server
// groups, Slurm clusters, security-group peers, preflight and recipes (issue 21). Each bad case
// asserts where (construct path or factory), the bad value and the fix, in order; each valid
// case synthesizes and passes the shared offline validator.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  CloudProfile, GpuFleet, GpuFleetProps, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuNodeProps, GpuRecipe, KernelModules, KeyPair,
  NvidiaDriver, openstack, Peer, PowerState, SecurityGroup, ServerGroup, SlurmCluster,
} from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

const any = (v: unknown) => v as any;
function stack(): TerraformStack {
  const s = new TerraformStack(Testing.app(), 't');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  return s;
}
function node(props: Partial<GpuNodeProps> | any, s = stack()): GpuNode {
  return new GpuNode(s, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'), ...props });
}
function fleet(props: Partial<GpuFleetProps> | any, s = stack()): GpuFleet {
  return new GpuFleet(s, 'Fleet', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), network: GpuNetwork.forUser(s, 'Net', 'alice'), ...props });
}
function cluster(props: any, s = stack()): SlurmCluster {
  return new SlurmCluster(s, 'Lab', { workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }], ...props });
}
const recipe = (props: any) => new GpuRecipe(props);
const numberVar = () => new TerraformVariable(stack(), 'v', { type: 'number' }).numberValue;
const stringVar = () => new TerraformVariable(stack(), 'v', { type: 'string' }).stringValue;
const noLimit = CloudProfile.custom({ name: 'open', flavors: [{ flavorName: 'g2080', model: GpuModel.RTX_2080_TI, gpuCount: 1 }], externalNetworkName: 'public' });

type Case = [string, () => unknown, string[]];
const N = 't/Node';
const F = 't/Fleet';
const R = 'GpuRecipe gpu-base';
const TOKEN = 'a token cannot be used here because';

const reachNode: Case[] = [
  ["kernel modules 'closed'", () => NvidiaDriver.branch(570, any('closed')),
    ['NvidiaDriver.branch: modules must be one of KernelModules.OPEN, KernelModules.PROPRIETARY', "got 'closed'", 'Use KernelModules.OPEN']],
  ["kernel modules 'OPEN' (the member name, not its value)", () => NvidiaDriver.branch(570, any('OPEN')), ['NvidiaDriver.branch: modules', "got 'OPEN'", 'KernelModules.OPEN']],
  ['open modules before 515', () => NvidiaDriver.branch(470, KernelModules.OPEN),
    ['NvidiaDriver.branch: modules must be KernelModules.PROPRIETARY for branch 470', 'from branch 515 on', "got 'open'", 'NvidiaDriver.branch(470, KernelModules.PROPRIETARY)']],
  ['a GPU count of 1e21', () => node({ flavor: GpuFlavor.named('g9.big', { gpuCount: 1e21 }) }), [N, 'gpuCount of flavor', 'whole number from 1 to 16', 'got 1e+21']],
  ['a profile GPU count of 1e21', () => CloudProfile.custom({ name: 'lab', flavors: [{ flavorName: 'f', model: GpuModel.T4, gpuCount: 1e21 }] }),
    ['CloudProfile lab: gpuCount of flavor f must be a whole number from 1 to 16', 'got 1e+21', 'GPUs the flavor passes through']],
  ['a command with a CR', () => recipe({ commands: ['apt-get install -y htop\r'] }), [R, 'commands entry must be', 'without carriage returns', "got 'apt-get install -y htop\\u000d'", 'LF line ends']],
  ['a command with CRLF inside', () => recipe({ commands: ['echo a\r\necho b'] }), [R, 'without carriage returns', 'LF line ends']],
  ['an unterminated heredoc', () => recipe({ commands: ['cat > /etc/app.conf <<EOF', 'key=value', 'systemctl restart app'] }),
    [R, 'commands must be valid bash', 'here-document', 'EOF', 'end the here-document']],
  ['an unterminated quoted heredoc', () => recipe({ commands: ["cat <<'END' > /etc/x\nhello"] }), [R, 'commands must be valid bash', 'here-document', 'END']],
];

const paths: Case[] = [
  ['a double slash into the library settings', () => recipe({ files: [{ path: '/etc//gpu-node/recipe.env', content: 'x' }] }),
    [R, 'file path must be outside /opt/gpu-node/ and /etc/gpu-node/', "got '/etc//gpu-node/recipe.env'", 'write your file elsewhere']],
  ['a dot segment into the runner', () => recipe({ files: [{ path: '/opt/./gpu-node/bin/gpu-node-run', content: 'x' }] }), [R, 'file path must be outside', "got '/opt/./gpu-node/bin/gpu-node-run'"]],
  ['a leading double slash', () => recipe({ files: [{ path: '//etc/gpu-node/recipe.env', content: 'x' }] }), [R, 'file path must be outside', "got '//etc/gpu-node/recipe.env'"]],
  ['the same file twice by spelling', () => recipe({ files: [{ path: '/etc/app/a', content: '1' }, { path: '/etc//app/./a', content: '2' }] }),
    [R, 'files must be files with distinct paths', "got '/etc/app/a'", 'Merge the contents']],
  ['a path ending in a dot segment', () => recipe({ files: [{ path: '/etc/app/.', content: 'x' }] }), [R, 'file path must be the path of a file, not a directory', "got '/etc/app/.'"]],
  ['a parent segment', () => recipe({ files: [{ path: '/etc/app/../gpu-node/recipe.env', content: 'x' }] }), [R, "file path must be absolute without '..' segments", "got '/etc/app/../gpu-node/recipe.env'"]],
];

const silent: Case[] = [
  ["Slurm partition 'default'", () => cluster({ workerGroups: [{ partition: 'default', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }] }),
    ['t/Lab: workerGroups[0].partition must be a name other than', "'default'", "Slurm reads PartitionName=default as the defaults line", "got 'default'", "e.g. 'gpu'"]],
  ['a fleet name with a space', () => fleet({ fleetName: 'train a', count: 1 }), [F, 'fleetName must be', 'without whitespace', "got 'train a'", 'ssh']],
  ['node names with a space', () => fleet({ nodeNames: ['train a'] }), [F, 'nodeNames entry must be', 'without whitespace', "got 'train a'", 'ssh']],
  ['node names with an ssh pattern character', () => fleet({ nodeNames: ['train*'] }), [F, 'nodeNames entry', "got 'train*'"]],
  ['node names that differ only in case', () => fleet({ nodeNames: ['Train-1', 'train-1'] }), [F, 'nodeNames must be names that differ in more than case', "got 'train-1'", 'Rename one of the nodes']],
  ['duplicate fixed addresses', () => fleet({ count: 2, fixedIpAddresses: ['10.42.0.10', '10.42.0.10'] }), [F, 'fixedIpAddresses must be distinct addresses', "got '10.42.0.10'"]],
  ['a fixed address outside the subnet', () => { const s = stack(); return fleet({ count: 1, network: new GpuNetwork(s, 'Own', { cidr: '10.42.0.0/24' }), fixedIpAddresses: ['10.43.0.5'] }, s); },
    ['t/Fleet/t-Fleet-1: fixedIpAddress must be an address in the subnet 10.42.0.0/24', "got '10.43.0.5'", 'fixedAddresses()']],
  ["ServerGroup.fromId('')", () => ServerGroup.fromId(stack(), 'G', ''), ["t/G: serverGroupId must be a server group UUID", "got ''", 'openstack server group list']],
  ['ServerGroup.fromId with a name', () => ServerGroup.fromId(stack(), 'G', 'my-group'), ['t/G: serverGroupId must be a server group UUID', "got 'my-group'", 'openstack server group list']],
  ['Peer.securityGroup with a name for the id', () => node({ sshFrom: [Peer.securityGroup({ securityGroupId: 'default', securityGroupName: 'default' })] }),
    ['t/Node/SecurityGroup: Peer.securityGroup securityGroupId must be a security group UUID', "got 'default'", 'SecurityGroup.fromName']],
  ['Peer.securityGroup with a string', () => Peer.securityGroup(any('default')), ['Peer.securityGroup: group must be a security group', "got 'default'", 'SecurityGroup.fromName']],
  ['a __proto__ metadata key', () => node({ metadata: JSON.parse('{"__proto__": "x"}') }), [N, "metadata key must be a key other than '__proto__'", "got '__proto__'", 'Rename the key']],
  ['DEL in a node name', () => node({ nodeName: 'a\u007fb' }), [N, 'nodeName must be 1-255 printable characters', "got 'a\\u007fb'"]],
  ['DEL in a metadata value', () => node({ metadata: { a: 'x\u007f' } }), [N, "metadata['a']", "got 'x\\u007f'"]],
  ['DEL in a tag', () => node({ tags: ['a\u007f'] }), [N, 'tags entry', "got 'a\\u007f'"]],
  ['DEL in a fleet name', () => fleet({ fleetName: 'f\u007f', count: 1 }), [F, 'fleetName', "got 'f\\u007f'"]],
  ['lifetimeWarningHours without a lifetime', () => { const s = stack(); return node({ cloudProfile: noLimit, network: GpuNetwork.forUser(s, 'Net2', 'alice', noLimit), lifetimeWarningHours: 2 }, s); },
    [N, 'lifetimeWarningHours must be given with a lifetime', 'got 2', 'set lifetimeHours too, or leave lifetimeWarningHours out']],
  ['a lifetime that overflows timeadd', () => { const s = stack(); return node({ cloudProfile: noLimit, network: GpuNetwork.forUser(s, 'Net2', 'alice', noLimit), lifetimeHours: 1e9 }, s); }, [N, 'lifetimeHours must be a whole number from 1 to 87600', 'got 1000000000']],
  ['a profile lifetime that overflows timeadd', () => CloudProfile.custom({ name: 'lab', maxLifetimeHours: 1e12 }), ['CloudProfile lab: maxLifetimeHours must be a whole number from 1 to 87600', 'got 1000000000000']],
];

const tokensAndSignatures: Case[] = [
  ['a fleet count token', () => fleet({ count: numberVar() }), [F, 'count must be', TOKEN, 'it decides how many nodes']],
  ['a driver branch token', () => NvidiaDriver.branch(numberVar()), ['NvidiaDriver.branch: branch', TOKEN]],
  ['a Slurm worker count token', () => cluster({ workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: numberVar() }] }),
    ['t/Lab: workerGroups[0].count', TOKEN, 'slurm.conf']],
  ['a Slurm cluster name token', () => cluster({ clusterName: stringVar() }), ['t/Lab: clusterName', TOKEN, 'host names']],
  ['a Slurm timeout token', () => cluster({ readyTimeoutMinutes: numberVar() }), ['t/Lab: readyTimeoutMinutes', TOKEN]],
  ['a lifetime token', () => node({ lifetimeHours: numberVar() }), [N, 'lifetimeHours', TOKEN]],
  ['a wait timeout token', () => node({ waitForReady: { timeoutMinutes: numberVar() } }), [N, 'waitForReady.timeoutMinutes', TOKEN]],
  ['KeyPair.fromName with the old signature', () => (KeyPair as any).fromName('alice', '~/.ssh/id_ed25519'),
    ['KeyPair.fromName: scope must be a construct', "got 'alice'", "KeyPair.fromName(this, 'Key', 'alice', { privateKeyHint: '~/.ssh/id_ed25519' })"]],
  ['ServerGroup.fromId with the old signature', () => (ServerGroup as any).fromId('0b5c2f4a-1111-4222-8333-444455556666'),
    ['ServerGroup.fromId: scope must be a construct', "ServerGroup.fromId(this, 'Group', '<id>')"]],
  ['two constructs with one id', () => { const s = stack(); new SecurityGroup(s, 'Sg'); return new SecurityGroup(s, 'Sg'); },
    ["t/Sg: the id 'Sg' is already used in t", 'give each construct its own id']],
  ['a node with the id of a fleet', () => { const s = stack(); fleet({ count: 1 }, s); return new GpuNode(s, 'Fleet', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net2', 'a') }); },
    ["t/Fleet: the id 'Fleet' is already used in t", 'give each construct its own id']],
  ['a key file that is a directory', () => new KeyPair(stack(), 'Key', { publicKeyFile: os.tmpdir() }), ['t/Key: publicKeyFile', 'is a directory', '.pub file']],
];

const all: { [group: string]: Case[] } = {
  'values that reach the node': reachNode, 'path rules': paths, 'silent wrong infrastructure': silent, 'tokens and signatures': tokensAndSignatures,
};
for (const [group, cases] of Object.entries(all)) {
  describe(group, () => {
    test.each(cases)('%s', (_name, build, parts) => {
      expect(build).toThrow(inOrder(...parts));
    });
  });
}

describe('valid input that was refused', () => {
  test('tokens where Terraform resolves the value, and the edge cases, synthesize and validate', () => {
    const { dir, json } = synthToDir((app: App) => {
      const s = new TerraformStack(app, 'valid');
      new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
      const power = new TerraformVariable(s, 'power', { type: 'string', default: 'active' });
      const flavor = new TerraformVariable(s, 'flavor', { type: 'string', default: 'g1-1x2080.medium' });
      const group = new TerraformVariable(s, 'group', { type: 'string', default: '0b5c2f4a-1111-4222-8333-444455556666' });
      const sgId = new TerraformVariable(s, 'sg', { type: 'string', default: '0b5c2f4a-1111-4222-8333-444455556667' });
      const net = GpuNetwork.forUser(s, 'Net', 'alice');
      new GpuNode(s, 'Node', {
        flavor: GpuFlavor.named(flavor.stringValue, { gpuCount: 1 }), network: net, powerState: PowerState.of(power.stringValue),
        serverGroup: ServerGroup.fromId(s, 'Group', group.stringValue),
        sshFrom: [Peer.ipv6('::ffff:10.0.0.0/104'), Peer.ipv6('2001:db8::/32'), Peer.securityGroup({ securityGroupId: sgId.stringValue, securityGroupName: 'lab' })],
        recipe: new GpuRecipe({
          name: 'valid', packages: ['libc6:amd64', 'zlib1g:i386=1:1.2.11.dfsg-2'],
          files: [{ path: '/opt/app/config..bak', content: 'x' }, { path: '/opt/app/..hidden', content: 'y' }],
          commands: ['cat > /etc/app.conf <<EOF', 'key=value', 'EOF', 'cat <<-END', '\tindented', '\tEND'],
        }),
        nodeName: 'n1',
      });
      new GpuNode(s, 'Proprietary', {
        flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: net, nodeName: 'n2',
        recipe: new GpuRecipe({ name: 'prop', nvidiaDriver: NvidiaDriver.branch(580, KernelModules.PROPRIETARY) }),
      });
      ServerGroup.fromId(s, 'Uuid', '0B5C2F4A-1111-4222-8333-444455556666');
      return s;
    });
    const server = Object.values<any>(json.resource.openstack_compute_instance_v2).find((v) => v.name === 'n1');
    expect(server.power_state).toBe('${var.power}');
    expect(server.flavor_name).toBe('${var.flavor}');
    expect(server.scheduler_hints[0].group).toBe('${var.group}');
    const rules = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2);
    expect(rules.map((r) => r.remote_ip_prefix)).toContain('::ffff:10.0.0.0/104');
    expect(rules.map((r) => r.remote_group_id)).toContain('${var.sg}');
    expect(JSON.stringify(json)).not.toMatch(/TfToken/);
    expectStackPassesChecks(withQuotaInDir(dir));
  });

  test.each([
    ['2001:DB8::/32', '2001:db8::/32'], ['2001:db8:0:0::/64', '2001:db8::/64'], ['2001:0db8::/32', '2001:db8::/32'],
    ['2001:db8:0:0:1:0:0:0/128', '2001:db8:0:0:1::/128'], ['::FFFF:10.0.0.0/104', '::ffff:10.0.0.0/104'], ['::ffff:a00:0/104', '::ffff:10.0.0.0/104'],
    ['fe80:0:0:0:0:0:0:0/10', 'fe80::/10'], ['::/0', '::/0'],
  ])('IPv6 CIDR %s is written in the form Neutron stores, %s', (given, normal) => {
    expect(Peer.ipv6(given).cidr).toBe(normal);
  });

  test('a key file read through a symlink still works (only directories are refused)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-'));
    const der = require('crypto').generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }) as Buffer;
    const raw = der.subarray(der.length - 32);
    const field = (b: Buffer) => { const l = Buffer.alloc(4); l.writeUInt32BE(b.length); return Buffer.concat([l, b]); };
    fs.writeFileSync(path.join(dir, 'id.pub'), `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} me@host\n`);
    fs.symlinkSync(path.join(dir, 'id.pub'), path.join(dir, 'link.pub'));
    expect(new KeyPair(stack(), 'Key', { publicKeyFile: path.join(dir, 'link.pub') }).generated).toBe(false);
  });
});
