import { Token } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { computeServergroupV2 } from '../../.gen/providers/openstack';
import { nameOrDefault } from '../core/names';
import { renderValue, tfLiteral } from '../core/validation';
import { checkProps } from '../core/validation-props';
import { SERVER_GROUP_PROPS } from '../core/validation-schemas';
import { guardRetainedVolumes } from '../core/retained-volumes';
import { checkedScope } from '../core/construct-id';

/**
 * Where Nova places the servers of a server group. The soft policies need compute API
 * microversion 2.15 (Ocata and later), which the provider sends for them.
 */
export enum ServerGroupPolicy {
  /** Spread over hosts where it can, but still boot when there are fewer hosts than servers (GPU hosts are few). */
  SOFT_ANTI_AFFINITY = 'soft-anti-affinity',
  /** Every server on a different host; a server that finds no free host fails to boot. */
  ANTI_AFFINITY = 'anti-affinity',
  /** All servers on one host (fast node-to-node traffic); a server fails to boot when that host is full. */
  AFFINITY = 'affinity',
  /** On one host where it can. */
  SOFT_AFFINITY = 'soft-affinity',
}

/** A Nova server group: a `ServerGroup`, or `ServerGroup.fromId`. */
export interface IServerGroup extends IConstruct {
  /** The server group's id, for the `group` scheduler hint. */
  readonly serverGroupId: string;
}

/** Props of `ServerGroup`. */
export interface ServerGroupProps {
  /**
   * The group's name in the cloud.
   * @default - derived from the construct path
   */
  readonly serverGroupName?: string;
  /**
   * The placement policy.
   * @default ServerGroupPolicy.SOFT_ANTI_AFFINITY
   */
  readonly policy?: ServerGroupPolicy;
  /**
   * With `ANTI_AFFINITY` only: at most this many of the group's servers on one host (Nova
   * compute API microversion 2.64, Rocky and later).
   * @default - 1 (plain anti-affinity)
   */
  readonly maxServerPerHost?: number;
}

/**
 * A Nova server group (`openstack_compute_servergroup_v2`). Servers join it at creation by the
 * `group` scheduler hint; a group cannot change its policy, so a new policy is a new group and
 * new servers.
 *
 * The provider (v3.4.0, resourceComputeServerGroupV2Create) takes a list `policies` but sends
 * its single entry as the 2.64 `policy` field, with `rules` only for `anti-affinity`, and falls
 * back to the legacy `policies` list when Nova refuses; so one policy, and `maxServerPerHost`
 * only with `ANTI_AFFINITY`. Every argument is ForceNew.
 */
export class ServerGroup extends Construct implements IServerGroup {
  /** An existing server group by id (nothing is looked up: Nova checks the id when it creates a server). */
  public static fromId(scope: Construct, id: string, serverGroupId: string): IServerGroup {
    return new ExistingServerGroup(scope, id, serverGroupId);
  }

  /** The group's id (a reference to the resource). */
  public readonly serverGroupId: string;
  /** The group's name in the cloud. */
  public readonly serverGroupName: string;
  /** The placement policy. */
  public readonly policy: ServerGroupPolicy;
  /** The L1 server group (`openstack_compute_servergroup_v2`), as an escape hatch. */
  public readonly resource: computeServergroupV2.ComputeServergroupV2;

  constructor(scope: Construct, id: string, props: ServerGroupProps = {}) {
    super(checkedScope(scope, id, 'ServerGroup'), id);
    guardRetainedVolumes(this);
    const path = this.node.path;
    checkProps(path, 'ServerGroupProps', props, SERVER_GROUP_PROPS);
    this.serverGroupName = nameOrDefault(path, 'serverGroupName', props.serverGroupName);
    this.policy = props.policy ?? ServerGroupPolicy.SOFT_ANTI_AFFINITY;
    const policies = Object.values(ServerGroupPolicy) as string[];
    if (!policies.includes(this.policy)) {
      throw new Error(`${path}: policy must be one of ${policies.join(', ')} (ServerGroupPolicy), got '${this.policy}'`);
    }
    const max = props.maxServerPerHost;
    if (max !== undefined && !Token.isUnresolved(max)) {
      if (this.policy !== ServerGroupPolicy.ANTI_AFFINITY) {
        throw new Error(`${path}: maxServerPerHost applies only to ServerGroupPolicy.ANTI_AFFINITY (Nova's rules), got policy ` +
          `'${this.policy}'; use policy: ServerGroupPolicy.ANTI_AFFINITY or leave maxServerPerHost out`);
      }
      if (!Number.isInteger(max) || max < 1) {
        throw new Error(`${path}: maxServerPerHost must be a whole number of at least 1, got ${max}`);
      }
    }
    this.resource = new computeServergroupV2.ComputeServergroupV2(this, 'Resource', {
      name: tfLiteral(this.serverGroupName),
      policies: [this.policy],
      rules: max !== undefined ? { maxServerPerHost: max } : undefined,
    });
    this.serverGroupId = this.resource.id;
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

class ExistingServerGroup extends Construct implements IServerGroup {
  constructor(scope: Construct, id: string, public readonly serverGroupId: string) {
    super(checkedScope(scope, id, 'ServerGroup.fromId', "ServerGroup.fromId(this, 'Group', '<id>')"), id);
    // An empty id or a name would reach Nova as the scheduler hint, which refuses the server only at apply.
    if (typeof serverGroupId !== 'string' || (!Token.isUnresolved(serverGroupId) && !UUID.test(serverGroupId))) {
      throw new Error(`${this.node.path}: serverGroupId must be a server group UUID, got ${renderValue(serverGroupId)}. ` +
        "Pass the ID that 'openstack server group list' shows (not the name), or a reference to a ServerGroup");
    }
    guardRetainedVolumes(this);
  }
}
