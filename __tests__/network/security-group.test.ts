import { TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { openstack, Peer, Port, SecurityGroup, SecurityGroupProps } from '../../src';
import { expectStackPassesChecks, synthToDir } from '../support/checks';
import { inOrder } from '../support/messages';

const SG_TYPE = 'openstack_networking_secgroup_v2';
const RULE_TYPE = 'openstack_networking_secgroup_rule_v2';
const OFFICE = Peer.ipv4('192.0.2.0/24');
const VPN = Peer.ipv4('10.8.0.0/16');

/** Synthesizes a stack `test` after `build` and returns its JSON. */
function synth(build: (stack: TerraformStack) => void): any {
  const stack = new TerraformStack(Testing.app(), 'test');
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

/** A stack with one SecurityGroup `sg`: its JSON, the group's logical id and its rules in order. */
function synthGroup(props?: SecurityGroupProps) {
  let group!: SecurityGroup;
  const json = synth((stack) => { group = new SecurityGroup(stack, 'sg', props); });
  const groups = Object.entries<any>(json.resource[SG_TYPE]);
  expect(groups).toHaveLength(1);
  const [groupId, groupBody] = groups[0];
  const rules = Object.values<any>(json.resource[RULE_TYPE] ?? {});
  return { json, group, groupId, groupBody, rules };
}

/** The rules as short strings, e.g. `IPv4 tcp 22-22 from 10.0.0.0/8`, sorted. */
function summary(rules: any[]): string[] {
  return rules.map((r) => `${r.ethertype} ${r.protocol ?? 'any'}${r.port_range_min ? ` ${r.port_range_min}-${r.port_range_max}` : ''} ` +
    `from ${r.remote_ip_prefix ?? `group ${r.remote_group_id}`}`).sort();
}

/** What `token` becomes in the synthesized stack, read through an output. */
function synthesized(stack: TerraformStack, token: string): string {
  new TerraformOutput(stack, 'probe', { value: token });
  return JSON.parse(Testing.synth(stack)).output.probe.value;
}

/** Builds a SecurityGroup `sg` in a fresh stack `test`, to test what it throws. */
function build(props: SecurityGroupProps): () => void {
  return () => new SecurityGroup(new TerraformStack(Testing.app(), 'test'), 'sg', props);
}

describe('SecurityGroup resources', () => {
  test('SSH and ICMP only from the given CIDRs, all ingress, all in this group', () => {
    const { groupId, groupBody, rules } = synthGroup({ sshFrom: [OFFICE, VPN] });
    expect(groupBody).toEqual({ name: 'test-sg', description: 'GPU node access, managed by cdktf (test/sg)' });
    expect(summary(rules)).toEqual([
      'IPv4 icmp from 10.8.0.0/16',
      'IPv4 icmp from 192.0.2.0/24',
      'IPv4 tcp 22-22 from 10.8.0.0/16',
      'IPv4 tcp 22-22 from 192.0.2.0/24',
    ]);
    for (const rule of rules) {
      expect(rule.direction).toBe('ingress');
      expect(rule.security_group_id).toBe(`\${${SG_TYPE}.${groupId}.id}`);
    }
  });

  test('the SSH rule has exact properties and a readable description', () => {
    const { json } = synthGroup({ sshFrom: [OFFICE] });
    expect(JSON.stringify(json)).toHaveResourceWithProperties(openstack.networkingSecgroupRuleV2.NetworkingSecgroupRuleV2, {
      direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22,
      remote_ip_prefix: '192.0.2.0/24', description: 'tcp/22 from 192.0.2.0/24',
    });
    expect(JSON.stringify(json)).toHaveResourceWithProperties(openstack.networkingSecgroupRuleV2.NetworkingSecgroupRuleV2, {
      protocol: 'icmp', remote_ip_prefix: '192.0.2.0/24', description: 'ICMP from 192.0.2.0/24',
    });
  });

  test('no world-open rule unless Peer.anyIpv4() is given', () => {
    const closed = synthGroup({ sshFrom: [OFFICE], ingress: [{ port: Port.JUPYTER }, { port: Port.HTTPS, peers: [VPN] }] });
    expect(JSON.stringify(closed.json)).not.toContain('0.0.0.0/0');
    const open = synthGroup({ sshFrom: [Peer.anyIpv4()] });
    expect(summary(open.rules)).toEqual(['IPv4 icmp from 0.0.0.0/0', 'IPv4 tcp 22-22 from 0.0.0.0/0']);
  });

  test('without sshFrom there is no rule at all, just the group', () => {
    for (const props of [undefined, {}, { sshFrom: [] }]) {
      const { json, rules } = synthGroup(props);
      expect(rules).toEqual([]);
      expect(json.resource[RULE_TYPE]).toBeUndefined();
    }
  });

  test('allowIcmp: false leaves out ICMP', () => {
    expect(summary(synthGroup({ sshFrom: [OFFICE], allowIcmp: false }).rules)).toEqual(['IPv4 tcp 22-22 from 192.0.2.0/24']);
  });

  test('an IPv6 peer gets IPv6 rules with ipv6-icmp', () => {
    expect(summary(synthGroup({ sshFrom: [Peer.ipv6('2001:db8::/32')] }).rules)).toEqual([
      'IPv6 ipv6-icmp from 2001:db8::/32',
      'IPv6 tcp 22-22 from 2001:db8::/32',
    ]);
  });

  test('extra ports default to the SSH peers, or take their own', () => {
    const { rules } = synthGroup({
      sshFrom: [OFFICE],
      allowIcmp: false,
      ingress: [{ port: Port.JUPYTER }, { port: Port.udpRange(60000, 61000), peers: [VPN, Peer.anyIpv6()] }],
    });
    expect(summary(rules)).toEqual([
      'IPv4 tcp 22-22 from 192.0.2.0/24',
      'IPv4 tcp 8888-8888 from 192.0.2.0/24',
      'IPv4 udp 60000-61000 from 10.8.0.0/16',
      'IPv6 udp 60000-61000 from ::/0',
    ]);
  });

  test('extra ports work without SSH when they name their peers', () => {
    const { rules } = synthGroup({ ingress: [{ port: Port.HTTPS, peers: [VPN] }] });
    expect(summary(rules)).toEqual(['IPv4 tcp 443-443 from 10.8.0.0/16']);
  });

  test('name and description can be given', () => {
    const { groupBody } = synthGroup({ securityGroupName: 'gpu ssh', description: 'Lab access' });
    expect(groupBody).toEqual({ name: 'gpu ssh', description: 'Lab access' });
  });

  test('addIngress and addIcmp add rules after construction', () => {
    let sg!: SecurityGroup;
    const json = synth((stack) => {
      sg = new SecurityGroup(stack, 'sg');
      sg.addIngress(VPN, Port.TENSORBOARD);
      sg.addIcmp(Peer.ipv6('fd00::/8'));
    });
    expect(summary(Object.values(json.resource[RULE_TYPE]))).toEqual(['IPv4 tcp 6006-6006 from 10.8.0.0/16', 'IPv6 ipv6-icmp from fd00::/8']);
    expect(sg.resource).toBeInstanceOf(openstack.networkingSecgroupV2.NetworkingSecgroupV2);
  });

  test('securityGroupId references the group and securityGroupName is its name', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    const sg = new SecurityGroup(stack, 'sg', { securityGroupName: 'nodes' });
    expect(sg.securityGroupName).toBe('nodes');
    expect(synthesized(stack, sg.securityGroupId)).toMatch(new RegExp(`^\\$\\{${SG_TYPE}\\.sg_[A-Z0-9]+\\.id\\}$`));
  });

  test('passes the provider schema check and an offline terraform plan', () => {
    const { dir, json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'sg-checks');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      new SecurityGroup(stack, 'sg', {
        sshFrom: [OFFICE, Peer.ipv6('2001:db8::/32')],
        ingress: [{ port: Port.JUPYTER }, { port: Port.udpRange(60000, 61000), peers: [VPN] }],
      });
      return stack;
    });
    // 2 peers x (SSH + ICMP) + Jupyter from both + the UDP range from the VPN.
    expect(Object.keys(json.resource[RULE_TYPE])).toHaveLength(7);
    expectStackPassesChecks(dir);
  });
});

describe('security-group peers', () => {
  test('allowMembers: one all-protocol rule whose remote group is the group itself', () => {
    const { groupId, rules } = synthGroup({ sshFrom: [OFFICE], allowIcmp: false, allowMembers: true });
    const self = `\${${SG_TYPE}.${groupId}.id}`;
    expect(summary(rules)).toEqual([`IPv4 any from group ${self}`, 'IPv4 tcp 22-22 from 192.0.2.0/24']);
    const member = rules.find((r) => r.remote_group_id)!;
    expect(member).toEqual({
      direction: 'ingress', ethertype: 'IPv4', security_group_id: self, remote_group_id: self,
      description: "all traffic from members of 'test-sg'",
    });
    // remote_group_id and remote_ip_prefix conflict in the provider's schema: never both.
    for (const rule of rules) expect(rule.remote_group_id !== undefined && rule.remote_ip_prefix !== undefined).toBe(false);
  });

  test('without allowMembers no rule names a remote group', () => {
    const { rules } = synthGroup({ sshFrom: [OFFICE] });
    expect(rules.filter((r) => r.remote_group_id)).toEqual([]);
  });

  test('allowFromMembers(ports) opens only those ports between members', () => {
    let sg!: SecurityGroup;
    const json = synth((stack) => {
      sg = new SecurityGroup(stack, 'sg');
      sg.allowFromMembers([Port.tcp(29500), Port.tcpRange(60000, 60100)]);
    });
    const rules = Object.values<any>(json.resource[RULE_TYPE]);
    expect(rules.map((r) => `${r.protocol} ${r.port_range_min}-${r.port_range_max} ${r.remote_group_id === r.security_group_id}`).sort())
      .toEqual(['tcp 29500-29500 true', 'tcp 60000-60100 true']);
  });

  test('a peer group: another group\'s members reach this one; SSH and extra ports from a group', () => {
    const json = synth((stack) => {
      const head = new SecurityGroup(stack, 'head');
      new SecurityGroup(stack, 'workers', {
        sshFrom: [Peer.securityGroup(head)],
        ingress: [{ port: Port.tcp(6818), peers: [Peer.securityGroup(SecurityGroup.fromName(stack, 'lab', 'lab-default'))] }],
      });
    });
    const rules = Object.values<any>(json.resource[RULE_TYPE]);
    const shown = rules.map((r) => `${r.protocol} ${r.port_range_min ?? '-'} ${r.remote_group_id.replace(/head_\w+/, 'head')}`);
    expect(shown.sort()).toEqual([
      'icmp - ${openstack_networking_secgroup_v2.head.id}',
      'tcp 22 ${openstack_networking_secgroup_v2.head.id}',
      'tcp 6818 ${data.openstack_networking_secgroup_v2.lab_37E50F47.id}',
    ]);
  });

  test('rule ids depend on the peer group\'s name, not on token order', () => {
    const ids = (extraFirst: boolean) => {
      const json = synth((stack) => {
        if (extraFirst) new SecurityGroup(stack, 'unrelated');
        const other = new SecurityGroup(stack, 'other');
        new SecurityGroup(stack, 'sg').addIngress(Peer.securityGroup(other), Port.SSH);
      });
      return Object.keys(json.resource[RULE_TYPE]).filter((k) => k.startsWith('sg_'));
    };
    expect(ids(true)).toEqual(ids(false));
    expect(ids(true)).toHaveLength(1);
  });

  test('allowAllFrom refuses the whole internet', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const sg = new SecurityGroup(stack, 'sg');
    expect(() => sg.allowAllFrom(Peer.anyIpv4())).toThrow(inOrder('test/sg', 'allowAllFrom(0.0.0.0/0)', 'whole internet', 'addIngress'));
  });

  test('group peers pass the provider schema check and an offline terraform plan', () => {
    const { dir, json } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'sg-peers');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const head = new SecurityGroup(stack, 'head', { sshFrom: [OFFICE] });
      const workers = new SecurityGroup(stack, 'workers', { sshFrom: [Peer.securityGroup(head)], allowMembers: true });
      head.addIngress(Peer.securityGroup(workers), Port.tcp(6817));
      return stack;
    });
    // head: SSH + ICMP from the office, 6817 from workers; workers: SSH + ICMP from head, all from members.
    expect(Object.keys(json.resource[RULE_TYPE])).toHaveLength(6);
    expectStackPassesChecks(dir);
  });
});

describe('SecurityGroup.fromName', () => {
  test('looks the group up with a data source and creates nothing', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const found = SecurityGroup.fromName(stack, 'existing', 'default');
    const json = JSON.parse(Testing.synth(stack));
    expect(json.resource).toBeUndefined();
    expect(json.data.openstack_networking_secgroup_v2).toEqual({ existing_EDB94138: { name: 'default' } });
    expect(found.securityGroupName).toBe('default');
    expect(found.node.path).toBe('test/existing');
    expect(synthesized(stack, found.securityGroupId)).toBe('${data.openstack_networking_secgroup_v2.existing_EDB94138.id}');
  });
});

describe('imports are constructs that take rules like owned groups', () => {
  test('fromId looks the group up by id; rules on it reference the lookup', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const lab = SecurityGroup.fromId(stack, 'Lab', '0b5c2f4a-1111-4222-8333-444455556666');
    lab.addIngress(VPN, Port.JUPYTER);
    lab.allowFromMembers([Port.tcp(29500)]);
    lab.connections.allowFrom(OFFICE, Port.TENSORBOARD);
    const json = JSON.parse(Testing.synth(stack));
    expect(lab.node.path).toBe('test/Lab');
    expect(Object.values(json.data.openstack_networking_secgroup_v2)).toEqual([{ secgroup_id: '0b5c2f4a-1111-4222-8333-444455556666' }]);
    expect(json.resource[SG_TYPE]).toBeUndefined();
    const ref = expect.stringMatching(/^\$\{data\.openstack_networking_secgroup_v2\.Lab_\w+\.id\}$/);
    const rules = Object.values<any>(json.resource[RULE_TYPE]);
    expect(rules).toHaveLength(3);
    for (const rule of rules) expect(rule.security_group_id).toEqual(ref);
    expect(rules.map((r) => r.remote_ip_prefix ?? 'members').sort()).toEqual(['10.8.0.0/16', '192.0.2.0/24', 'members']);
  });

  test('fromName and fromId refuse an empty or non-string value with the path and the fix', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(() => SecurityGroup.fromName(stack, 'A', ' ')).toThrow(inOrder('test/A: securityGroupName must be a non-empty string', "openstack security group list"));
    expect(() => SecurityGroup.fromId(stack, 'B', 42 as any)).toThrow(inOrder('test/B: securityGroupId must be a non-empty string', 'got 42'));
    expect(() => SecurityGroup.fromName('lab' as any, 'C', 'lab')).toThrow(inOrder('SecurityGroup.fromName: scope must be a construct', "SecurityGroup.fromName(this, 'Lab', '<name>')"));
  });

  test('rules on an imported group pass the schema check and terraform plan', () => {
    const { dir } = synthToDir((app) => {
      const stack = new TerraformStack(app, 'sg-imports');
      new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
      const byName = SecurityGroup.fromName(stack, 'Default', 'default');
      const byId = SecurityGroup.fromId(stack, 'Lab', '0b5c2f4a-1111-4222-8333-444455556666');
      byName.connections.allowFrom(byId, Port.tcp(6817));
      byId.addIcmp(VPN);
      return stack;
    });
    expectStackPassesChecks(dir);
  });
});

describe('bad input', () => {
  test('a bad SSH CIDR names the path, the CIDR and an example', () => {
    expect(build({ sshFrom: [Peer.ipv4('10.0.0.1/8')] })).toThrow(
      inOrder('test/sg', "'10.0.0.1/8' is not an IPv4 CIDR block", "Peer.ipv4('10.0.0.0/8')"));
  });

  test('a bad CIDR of an extra port is refused too', () => {
    expect(build({ ingress: [{ port: Port.JUPYTER, peers: [Peer.ipv6('2001:db8::/200')] }] })).toThrow(
      inOrder('test/sg', "'2001:db8::/200' is not an IPv6 CIDR block", "Peer.ipv6('2001:db8::/32')"));
  });

  test('port 70000 names the path, the range and the valid range', () => {
    expect(build({ sshFrom: [OFFICE], ingress: [{ port: Port.tcp(70000) }] })).toThrow(
      inOrder('test/sg', 'port range 70000-70000 is invalid', 'from 1 to 65535'));
  });

  test('a range lowest last is refused', () => {
    expect(build({ sshFrom: [OFFICE], ingress: [{ port: Port.tcpRange(9000, 8000) }] })).toThrow(
      inOrder('test/sg', '9000-8000', 'lowest first'));
  });

  test('an extra port without any peer names the path, the port and both fixes', () => {
    expect(build({ ingress: [{ port: Port.JUPYTER }] })).toThrow(
      inOrder('test/sg', 'ingress rule tcp/8888 has no peers', "give it 'peers'", 'or set sshFrom'));
  });

  test.each([
    ['a leading space', ' nodes'], ['a trailing space', 'nodes '], ['empty', ''], ['256 characters', 'x'.repeat(256)],
    ['a tab', 'tab\there', 'tab\\u0009here'],
  ])('a name with %s is refused with path, value and the rule', (_why, name, shown = name.length > 80 ? `${name.slice(0, 77)}...` : name) => {
    expect(build({ securityGroupName: name })).toThrow(
      inOrder('test/sg: securityGroupName must be 1-255 printable characters without leading or trailing spaces', `got '${shown}'`));
  });
});

test('the same rule given twice is made once (Neutron refuses duplicates with 409)', () => {
  const { rules } = synthGroup({ sshFrom: [OFFICE, OFFICE], ingress: [{ port: Port.SSH }, { port: Port.JUPYTER, peers: [VPN, VPN] }] });
  expect(summary(rules)).toEqual([
    'IPv4 icmp from 192.0.2.0/24',
    'IPv4 tcp 22-22 from 192.0.2.0/24',
    'IPv4 tcp 8888-8888 from 10.8.0.0/16',
  ]);
});
