import { TerraformStack, Testing } from 'cdktf';
import { ServerGroup, ServerGroupPolicy, ServerGroupProps } from '../../src';
import { inOrder } from '../support/messages';

function synth(props?: ServerGroupProps) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const group = new ServerGroup(stack, 'sg', props);
  const json = JSON.parse(Testing.synth(stack));
  return { group, body: Object.values<any>(json.resource.openstack_compute_servergroup_v2)[0] };
}

describe('ServerGroup', () => {
  test('defaults to one soft-anti-affinity policy and no rules', () => {
    const { group, body } = synth();
    expect(body).toEqual({ name: 'test-sg', policies: ['soft-anti-affinity'] });
    expect(group.policy).toBe(ServerGroupPolicy.SOFT_ANTI_AFFINITY);
  });

  test.each([
    [ServerGroupPolicy.ANTI_AFFINITY, 'anti-affinity'], [ServerGroupPolicy.AFFINITY, 'affinity'],
    [ServerGroupPolicy.SOFT_AFFINITY, 'soft-affinity'],
  ])('policy %s is the one entry of policies', (policy, value) => {
    expect(synth({ policy, serverGroupName: 'pool' }).body).toEqual({ name: 'pool', policies: [value] });
  });

  test('maxServerPerHost goes into rules with anti-affinity', () => {
    expect(synth({ policy: ServerGroupPolicy.ANTI_AFFINITY, maxServerPerHost: 2 }).body.rules).toEqual({ max_server_per_host: 2 });
  });

  test.each<[string, ServerGroupProps, string[]]>([
    ['maxServerPerHost with soft-anti-affinity', { maxServerPerHost: 2 },
      ['test/sg: maxServerPerHost applies only to ServerGroupPolicy.ANTI_AFFINITY', "got policy 'soft-anti-affinity'"]],
    ['maxServerPerHost 0', { policy: ServerGroupPolicy.ANTI_AFFINITY, maxServerPerHost: 0 },
      ['test/sg: maxServerPerHost must be a whole number of at least 1, got 0']],
    ['an unknown policy', { policy: 'spread' as ServerGroupPolicy }, ['test/sg: policy must be one of soft-anti-affinity, anti-affinity', "got 'spread'"]],
  ])('%s is refused', (_why, props, parts) => {
    expect(() => synth(props)).toThrow(inOrder(...parts));
  });

  test('fromId gives a group to join without creating one', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(ServerGroup.fromId(stack, 'Group', '0b5c2f4a-1111-4222-8333-444455556666').serverGroupId).toBe('0b5c2f4a-1111-4222-8333-444455556666');
    expect(JSON.parse(Testing.synth(stack)).resource).toBeUndefined();
  });
});
