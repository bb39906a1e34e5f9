import { Lazy, TerraformOutput, Token } from 'cdktf';
import { Construct } from 'constructs';
import { stackShared } from '../core/stack-shared';
import { tfLiteral } from '../core/template';
import { NodeOutputs } from './node-outputs';

/** One node's entry in the stack's `gpu_nodes` output. */
export interface NodeMapEntry {
  readonly id: string;
  readonly fixed_ip: string;
  readonly floating_ip?: string;
  readonly ssh: string;
  readonly shelve_at?: string;
}

/** The logical name of the stack's map output (NodeOutputs.STACK_MAP). */
export const NODE_MAP_OUTPUT = 'gpu_nodes';

const entries = new WeakMap<Construct, Map<string, NodeMapEntry>>();

/** Adds a node to the stack's one `gpu_nodes` output, creating the output on first use. */
export function addToNodeMap(scope: Construct, nodeName: string, entry: NodeMapEntry): void {
  const holder = stackShared(scope, 'GpuNodeOutputs');
  let nodes = entries.get(holder);
  if (!nodes) {
    nodes = new Map();
    entries.set(holder, nodes);
    const map = nodes;
    const output = new TerraformOutput(holder, 'Map', {
      // Terraform reads an object key of an expression as a template too.
      value: Lazy.anyValue({ produce: () => Object.fromEntries([...map].map(([name, e]) => [tfLiteral(name), e])) }),
      description: 'The GPU nodes of this stack: name -> { id, fixed_ip, floating_ip, ssh, shelve_at }',
    });
    output.overrideLogicalId(NODE_MAP_OUTPUT);
  }
  if (nodes.has(nodeName)) {
    throw new Error(`${scope.node.path}: another node of this stack is already named '${nodeName}' in the ${NODE_MAP_OUTPUT} output; give it another nodeName`);
  }
  nodes.set(nodeName, entry);
}

/** What a node puts into its outputs. */
export interface NodeOutputValues {
  readonly nodeName: string;
  readonly id: string;
  readonly fixedIp: string;
  /** Where the node has a floating IP. */
  readonly floatingIp?: string;
  readonly ssh: string;
  /** Where the node has a lifetime. */
  readonly shelveAt?: string;
}

/** A node's outputs: its entry of the stack's map (STACK_MAP) or outputs of its own (PER_NODE). */
export function addNodeOutputs(node: Construct, kind: NodeOutputs, v: NodeOutputValues): void {
  if (kind === NodeOutputs.STACK_MAP) {
    addToNodeMap(node, Token.isUnresolved(v.nodeName) ? node.node.path : v.nodeName, {
      id: v.id, fixed_ip: v.fixedIp, floating_ip: v.floatingIp, ssh: tfLiteral(v.ssh), shelve_at: v.shelveAt,
    });
    return;
  }
  if (kind !== NodeOutputs.PER_NODE) {
    throw new Error(`${node.node.path}: outputs must be NodeOutputs.PER_NODE or NodeOutputs.STACK_MAP, got '${kind}'`);
  }
  new TerraformOutput(node, 'InstanceId', { value: v.id, description: tfLiteral(`Server id of ${v.nodeName}`) });
  new TerraformOutput(node, 'FixedIp', { value: v.fixedIp, description: tfLiteral(`Fixed IP of ${v.nodeName}`) });
  if (v.floatingIp !== undefined) {
    new TerraformOutput(node, 'FloatingIpAddress', { value: v.floatingIp, description: tfLiteral(`Floating IP of ${v.nodeName}`) });
  }
  new TerraformOutput(node, 'SshCommand', { value: tfLiteral(v.ssh), description: tfLiteral(`SSH to ${v.nodeName}`) });
  if (v.shelveAt !== undefined) {
    new TerraformOutput(node, 'ShelveAt', {
      value: v.shelveAt,
      // What brings a node back (PowerState.RUNNING) is the same for every node: in the README, not per output.
      description: tfLiteral(`When the cloud shelves ${v.nodeName} (UTC)`),
    });
  }
}
