/** How GPU nodes report their ids and addresses as stack outputs. */
export enum NodeOutputs {
  /**
   * Outputs of its own for each node: `InstanceId`, `FixedIp`, `SshCommand`, and
   * `FloatingIpAddress` and `ShelveAt` where the node has them.
   */
  PER_NODE = 'per-node',
  /**
   * One entry per node in the stack's single `gpu_nodes` output, a map from node name to
   * `{ id, fixed_ip, floating_ip, ssh, shelve_at }`: for fleets, where five outputs per node
   * would make `cdktf output` and the JSON large. One node's ssh command:
   * `terraform -chdir=cdktf.out/stacks/<stack> output -json gpu_nodes | jq -r '."<node name>".ssh'`.
   */
  STACK_MAP = 'stack-map',
}
