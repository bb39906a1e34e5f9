import { Lazy, TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { stackShared } from '../core/stack-shared';
import { tfLiteral } from '../core/template';

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
