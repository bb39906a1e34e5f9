import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/**
 * One construct per stack for what nodes of a stack share (user_data locals, image lookups,
 * the node map output): created on first use under the stack, found again afterwards.
 */
export function stackShared(scope: Construct, id: string): Construct {
  const stack = TerraformStack.of(scope);
  return (stack.node.tryFindChild(id) as Construct | undefined) ?? new Construct(stack, id);
}

/** The child `id` of `parent`, made by `create` on first use. */
export function sharedChild<T extends Construct>(parent: Construct, id: string, create: (scope: Construct, id: string) => T): T {
  return (parent.node.tryFindChild(id) as T | undefined) ?? create(parent, id);
}
