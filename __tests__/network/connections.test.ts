// `connections`: rules for a node, a fleet, a cluster or a group, whoever owns the security group
// (the node, the network, the user, an import), from peers, other nodes and fleets.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import {
  Connections, GpuFlavor, GpuFleet, GpuModel, GpuNetwork, GpuNode, openstack, Peer, Port, SecurityGroup, SlurmCluster,
} from '../../src';
import { withQuota, withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, REFERENCE_SCHEMA, synthToDir } from '../support/checks';
import { sharedCheckGap, testUnless } from '../support/skip';
import { inOrder } from '../support/messages';

const RULE_TYPE = 'openstack_networking_secgroup_rule_v2';
const SG_TYPE = 'openstack_networking_secgroup_v2';
const LAB = Peer.ipv4('10.0.0.0/8');
const FLAVOR = GpuFlavor.of(GpuModel.RTX_2080_TI, 1);

function newStack(id = 'test'): TerraformStack {
  const stack = new TerraformStack(Testing.app(), id);
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  return stack;
}
const json = (stack: TerraformStack) => JSON.parse(Testing.synth(stack));
/** The rules as `<group> <protocol> <ports> from <cidr or group>`, group names without their hash. */
function rules(out: any): string[] {
  const name = (ref: string) => ref.replace(/^\$\{(data\.)?openstack_networking_secgroup_v2\.(\w+?)(_[0-9A-F]{8})?\.id\}$/, '$2');
  return Object.values<any>(out.resource[RULE_TYPE] ?? {}).map((r) =>
    `${name(r.security_group_id)} ${r.protocol ?? 'any'}${r.port_range_min ? ` ${r.port_range_min}` : ''} from ` +
    `${r.remote_ip_prefix ?? name(r.remote_group_id)}`).sort();
}
const ports = (out: any) => Object.values<any>(out.resource.openstack_networking_port_v2);

describe('node.connections', () => {
  test('a node that made its group: the rule goes there, nothing new is made', () => {
    const stack = newStack();
    const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network: GpuNetwork.forUser(stack, 'Net', 'alice'), sshFrom: [LAB] });
    const own = node.securityGroup;
    node.connections.allowFrom(Peer.ipv4('192.0.2.0/24'), Port.JUPYTER);
    const out = json(stack);
    expect(node.securityGroup).toBe(own);
    expect(Object.keys(out.resource[SG_TYPE])).toHaveLength(1);
    expect(rules(out)).toContain('Node_SecurityGroup tcp 8888 from 192.0.2.0/24');
    expect(rules(out).filter((r) => r.includes('8888'))).toHaveLength(1);
  });

  test('a node in the network\'s group gets a group of its own: the rule opens this node, not the network', () => {
    const stack = newStack();
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [LAB] });
    const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network, nodeName: 'nb' });
    const neighbour = new GpuNode(stack, 'Neighbour', { flavor: FLAVOR, network });
    expect(node.securityGroup).toBeUndefined();
    node.connections.allowFrom(LAB, Port.JUPYTER);
    const out = json(stack);
    expect(node.securityGroup!.securityGroupName).toBe('nb-access');
    expect(node.securityGroups).toEqual([network.nodeSecurityGroup, node.securityGroup]);
    expect(rules(out)).toContain('Node_SecurityGroup tcp 8888 from 10.0.0.0/8');
    expect(rules(out).filter((r) => r.startsWith('Net_SecurityGroup'))).toEqual(['Net_SecurityGroup icmp from 10.0.0.0/8', 'Net_SecurityGroup tcp 22 from 10.0.0.0/8']);
    const [nodePort, neighbourPort] = ['nb-port', `${neighbour.nodeName}-port`].map((n) => ports(out).find((p) => p.name === n));
    expect(nodePort.security_group_ids).toEqual([
      expect.stringMatching(/Net_SecurityGroup_\w+\.id/), expect.stringMatching(/Node_SecurityGroup_\w+\.id/),
    ]);
    expect(neighbourPort.security_group_ids).toEqual([expect.stringMatching(/Net_SecurityGroup_\w+\.id/)]);
  });

  test('a node with given groups (an import) keeps them and adds its own; the import is untouched', () => {
    const stack = newStack();
    const lab = SecurityGroup.fromName(stack, 'Lab', 'lab-default');
    const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network: GpuNetwork.forUser(stack, 'Net', 'alice'), securityGroups: [lab] });
    node.connections.allowFrom(LAB, Port.TENSORBOARD);
    const out = json(stack);
    expect(node.securityGroups).toEqual([lab, node.securityGroup]);
    expect(rules(out)).toEqual(['Node_SecurityGroup tcp 6006 from 10.0.0.0/8']);
    expect(ports(out)[0].security_group_ids).toEqual([
      expect.stringMatching(/^\$\{data\.openstack_networking_secgroup_v2\.Lab_\w+\.id\}$/), expect.stringMatching(/Node_SecurityGroup/),
    ]);
  });

  test('node to node: the other node (in the network\'s group) becomes a member of its own group, the peer of the rule', () => {
    const stack = newStack();
    const network = new GpuNetwork(stack, 'Net');
    const server = new GpuNode(stack, 'Server', { flavor: FLAVOR, network });
    const client = new GpuNode(stack, 'Client', { flavor: FLAVOR, network });
    server.connections.allowFrom(client, Port.tcp(29500));
    client.connections.allowTo(server, Port.tcp(6379));
    const out = json(stack);
    expect(rules(out)).toEqual(['Server_SecurityGroup tcp 29500 from Client_SecurityGroup', 'Server_SecurityGroup tcp 6379 from Client_SecurityGroup']);
    for (const port of ports(out)) expect(port.security_group_ids).toHaveLength(2);
  });

  test('no world-open rule unless asked for by name, and never all ports to the world', () => {
    const stack = newStack();
    const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network: new GpuNetwork(stack, 'Net') });
    node.connections.allowFrom(LAB, Port.SSH);
    expect(JSON.stringify(json(stack))).not.toContain('0.0.0.0/0');
    node.connections.allowFrom(Peer.anyIpv4(), Port.HTTPS);
    expect(rules(json(stack))).toContain('Node_SecurityGroup tcp 443 from 0.0.0.0/0');
    expect(() => node.securityGroup!.allowAllFrom(Peer.anyIpv4())).toThrow(inOrder('test/Node/SecurityGroup', 'whole internet'));
  });

  test('user strings in rules go through the escaping: a group named with ${ stays literal', () => {
    const stack = newStack();
    const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network: new GpuNetwork(stack, 'Net') });
    node.connections.allowFrom(SecurityGroup.fromName(stack, 'Odd', 'a${b}'), Port.tcp(7000));
    const rule = Object.values<any>(json(stack).resource[RULE_TYPE])[0];
    expect(rule.description).toBe("tcp/7000 from members of 'a$${b}'");
    expect(Object.values(json(stack).data.openstack_networking_secgroup_v2)).toEqual([{ name: 'a$${b}' }]);
  });
});

describe('fleet and cluster connections', () => {
  test('fleet.connections: rules in the fleet\'s group; allowInternally adds nothing where members already reach each other', () => {
    const stack = newStack();
    const fleet = new GpuFleet(stack, 'Fleet', { flavor: FLAVOR, network: new GpuNetwork(stack, 'Net'), count: 2 });
    fleet.connections.allowInternally(Port.tcp(29500));
    fleet.connections.allowFrom(LAB, Port.JUPYTER);
    expect(rules(json(stack))).toEqual(['Fleet_SecurityGroup any from Fleet_SecurityGroup', 'Fleet_SecurityGroup tcp 8888 from 10.0.0.0/8']);
    expect(fleet.connections.securityGroups).toEqual([fleet.securityGroup]);
  });

  test('allowInternally on a group without the all-member rule opens the port between members', () => {
    const stack = newStack();
    const group = new SecurityGroup(stack, 'Trainers');
    group.connections.allowInternally(Port.tcp(29500));
    expect(rules(json(stack))).toEqual(['Trainers tcp 29500 from Trainers']);
  });

  test('a node reaches a fleet: the fleet\'s group lets the node\'s own group in', () => {
    const stack = newStack();
    const network = new GpuNetwork(stack, 'Net');
    const fleet = new GpuFleet(stack, 'Fleet', { flavor: FLAVOR, network, count: 2 });
    const login = new GpuNode(stack, 'Login', { flavor: FLAVOR, network });
    fleet.connections.allowFrom(login, Port.SSH);
    expect(rules(json(stack))).toContain('Fleet_SecurityGroup tcp 22 from Login_SecurityGroup');
  });

  test('network.connections opens the port on every node in the network\'s group', () => {
    const stack = newStack();
    const network = new GpuNetwork(stack, 'Net');
    network.connections.allowFrom(LAB, Port.JUPYTER);
    expect(rules(json(stack))).toEqual(['Net_SecurityGroup tcp 8888 from 10.0.0.0/8']);
    expect(network.connections.securityGroups).toEqual([network.nodeSecurityGroup]);
  });

  test('cluster.connections opens the port on the head and every worker (the members group)', () => {
    const stack = newStack();
    const cluster = new SlurmCluster(stack, 'Hpc', { workerGroups: [{ partition: 'gpu', flavor: FLAVOR, count: 1 }] });
    cluster.connections.allowFrom(LAB, Port.tcp(8000));
    expect(rules(json(stack))).toContain('Hpc_Members tcp 8000 from 10.0.0.0/8');
  });
});

describe('Connections itself', () => {
  test('a peer has no group to take a rule: the error says where to call it', () => {
    expect(() => LAB.connections.allowFrom(Peer.ipv4('192.0.2.0/24'), Port.SSH)).toThrow(
      inOrder('allowFrom(192.0.2.0/24, tcp/22)', '10.0.0.0/8 has no security group', 'node.connections.allowFrom(peer, port)'));
  });

  test('anything that is not connectable is refused with the fix', () => {
    const stack = newStack();
    const group = new SecurityGroup(stack, 'G');
    expect(() => group.connections.allowFrom('10.0.0.0/8' as any, Port.SSH)).toThrow(
      inOrder('Connections.allowFrom', 'other', 'a Peer', "Peer.ipv4('10.0.0.0/8')"));
    expect(() => new Connections({ securityGroup: [group] } as any)).toThrow(inOrder('new Connections', 'securityGroup', "Did you mean 'securityGroups'"));
  });
});

test('connections on node-, network- and import-owned groups pass the schema check and terraform plan', () => {
  const { dir, json: out } = synthToDir((app) => {
    const stack = new TerraformStack(app, 'connections');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [LAB] });
    const lab = SecurityGroup.fromId(stack, 'Lab', '0b5c2f4a-1111-4222-8333-444455556666');
    const a = new GpuNode(stack, 'A', { flavor: FLAVOR, network, floatingIp: false });
    const b = new GpuNode(stack, 'B', { flavor: FLAVOR, network, floatingIp: false, securityGroups: [lab] });
    const own = new GpuNode(stack, 'C', { flavor: FLAVOR, network: GpuNetwork.forUser(stack, 'UserNet', 'alice'), sshFrom: [LAB], floatingIp: false });
    a.connections.allowFrom(b, Port.tcp(29500));
    own.connections.allowFrom(LAB, Port.JUPYTER);
    lab.connections.allowFrom(a, Port.tcp(9100));
    return stack;
  });
  expect(rules(out)).toEqual(expect.arrayContaining([
    'A_SecurityGroup tcp 29500 from B_SecurityGroup', 'C_SecurityGroup tcp 8888 from 10.0.0.0/8', 'Lab tcp 9100 from A_SecurityGroup',
  ]));
  expectStackPassesChecks(withQuotaInDir(dir));
});

describe('a deployed node (terraform with the stand-in provider)', () => {
  const tfCheck = path.resolve(__dirname, '../../../shared/tools/tf-stub/tf-check.sh');
  const hasTerraform = spawnSync('bash', ['-c', 'command -v terraform']).status === 0;
  const why = sharedCheckGap(!fs.existsSync(tfCheck) ? `${tfCheck} not found` : !hasTerraform ? 'terraform is not on PATH' : undefined);

  testUnless(why, 'opening a port later on a node in the network\'s group adds its group and rule, updates the port in place, replaces nothing', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'node-connections-'));
    const dir = path.join(work, 'stack');
    const state = path.join(work, 'terraform.tfstate');
    const synthInto = (openJupyter: boolean) => {
      const { dir: out, json } = synthToDir((app) => {
        const stack = new TerraformStack(app, 'deployed');
        new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
        const node = new GpuNode(stack, 'Node', { flavor: FLAVOR, network: new GpuNetwork(stack, 'Net', { sshFrom: [LAB] }), floatingIp: false });
        if (openJupyter) node.connections.allowFrom(LAB, Port.JUPYTER);
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
    synthInto(false);
    expect(tf('apply').stdout).toMatch(/Apply complete!/);
    synthInto(true);
    const plan = tf('plan').stdout;
    expect(plan).toMatch(/Plan: 2 to add, 1 to change, 0 to destroy\./);
    expect(plan).toMatch(/openstack_networking_port_v2\.Node_Port_\w+ will be updated in-place/);
    expect(plan).not.toMatch(/must be replaced|will be destroyed/);
    fs.rmSync(work, { recursive: true, force: true });
  });
});
