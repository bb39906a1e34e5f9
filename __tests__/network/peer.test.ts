import { Peer } from '../../src';
import { inOrder } from '../support/messages';

const PATH = 'stack/SecurityGroup';

describe('Peer.ipv4', () => {
  test.each([
    '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '192.0.2.7/32', '0.0.0.0/0', '255.255.255.255/32',
    '203.0.113.128/25', '100.64.0.0/10',
  ])('accepts %s', (cidr) => {
    const peer = Peer.ipv4(cidr);
    expect(() => peer._validate(PATH)).not.toThrow();
    expect(peer.cidr).toBe(cidr);
    expect(peer.ethertype).toBe('IPv4');
    expect(String(peer)).toBe(cidr);
  });

  test.each([
    ['host bits set', '10.0.0.1/8'],
    ['host bits set in the last octet', '192.0.2.7/24'],
    ['prefix above 32', '10.0.0.0/33'],
    ['prefix of three digits', '10.0.0.0/100'],
    ['octet above 255', '256.0.0.0/8'],
    ['no prefix', '10.0.0.0'],
    ['three octets', '10.0.0/8'],
    ['a name', 'localhost/32'],
    ['an IPv6 block', '2001:db8::/32'],
    ['leading space', ' 10.0.0.0/8'],
    ['empty', ''],
  ])('rejects %s (%s) with path, value and an example', (_why, cidr) => {
    expect(() => Peer.ipv4(cidr)._validate(PATH)).toThrow(
      inOrder(`${PATH}: '${cidr}' is not an IPv4 CIDR block`, "write it like Peer.ipv4('10.0.0.0/8')"));
  });
});

describe('Peer.ipv6', () => {
  test.each([
    '2001:db8::/32', '::/0', '::1/128', 'fe80::/10', '2001:db8:0:0:0:0:0:0/64', '2001:DB8:ABCD::/48',
    '2001:db8:1:2:3:4:5::/112',
  ])('accepts %s', (cidr) => {
    const peer = Peer.ipv6(cidr);
    expect(() => peer._validate(PATH)).not.toThrow();
    expect(peer.ethertype).toBe('IPv6');
  });

  test.each([
    ['prefix above 128', '2001:db8::/129'],
    ['two ::', '2001:db8::1::/64'],
    ['three colons', '2001:db8:::/48'],
    ['a group of five digits', '2001:db80a::/32'],
    ['not hex', 'gggg::/16'],
    ['nine groups', '1:2:3:4:5:6:7:8:9/64'],
    ['seven groups without ::', '1:2:3:4:5:6:7/64'],
    ['no prefix', '2001:db8::'],
    ['an IPv4 block', '10.0.0.0/8'],
    ['a single colon at the end', '2001:db8:/32'],
  ])('rejects %s (%s) with path, value and an example', (_why, cidr) => {
    expect(() => Peer.ipv6(cidr)._validate(PATH)).toThrow(
      inOrder(`${PATH}: '${cidr}' is not an IPv6 CIDR block`, "write it like Peer.ipv6('2001:db8::/32')"));
  });
});

describe('anywhere peers', () => {
  test('anyIpv4() is 0.0.0.0/0 and the only IPv4 peer that is anywhere', () => {
    expect(Peer.anyIpv4()).toMatchObject({ cidr: '0.0.0.0/0', ethertype: 'IPv4', isAnywhere: true });
    expect(Peer.ipv4('0.0.0.0/1').isAnywhere).toBe(false);
    expect(Peer.ipv4('10.0.0.0/8').isAnywhere).toBe(false);
    expect(() => Peer.anyIpv4()._validate(PATH)).not.toThrow();
  });

  test('anyIpv6() is ::/0', () => {
    expect(Peer.anyIpv6()).toMatchObject({ cidr: '::/0', ethertype: 'IPv6', isAnywhere: true });
    expect(Peer.ipv6('2001:db8::/32').isAnywhere).toBe(false);
    expect(() => Peer.anyIpv6()._validate(PATH)).not.toThrow();
  });
});

describe('strict CIDR parsing, as the provider does it', () => {
  test.each([
    ['IPv6 host bits set', () => Peer.ipv6('2001:db8::1/32')],
    ['IPv4 leading zero in an octet', () => Peer.ipv4('010.0.0.0/8')],
    ['IPv4 leading zero in the prefix', () => Peer.ipv4('10.0.0.0/08')],
  ])('%s is refused with the path and the value', (_what, make) => {
    expect(() => make()._validate('Stack/Group')).toThrow(/^Stack\/Group: '.+' is not an IPv\d CIDR block; write it like Peer\.ipv\d\(/);
  });

  test.each([['2001:db8::/32'], ['::/0'], ['fd00:1:2:3::/64'], ['2001:db8:0:0:0:0:0:0/128']])('%s is accepted', (cidr) => {
    expect(() => Peer.ipv6(cidr)._validate('x')).not.toThrow();
  });
});

describe('Peer.securityGroup', () => {
  test('names the group, is no CIDR, never anywhere, and always valid', () => {
    const peer = Peer.securityGroup({ securityGroupId: '0b5c2f4a-1111-4222-8333-444455556666', securityGroupName: 'fleet' });
    expect(peer.cidr).toBeUndefined();
    expect(peer.group?.securityGroupId).toBe('0b5c2f4a-1111-4222-8333-444455556666');
    expect(peer.ethertype).toBe('IPv4');
    expect(peer.isAnywhere).toBe(false);
    expect(peer._ruleKey).toBe('group:fleet');
    expect(String(peer)).toBe("members of 'fleet'");
    expect(() => peer._validate(PATH)).not.toThrow();
  });
});
