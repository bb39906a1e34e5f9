// The scope and id every public construct and import is given, checked before the constructs library sees
// them: its own errors ("There is already a Construct with name ...", or a TypeError on a string scope from
// an old call signature) name no construct path and no fix.
import { Construct } from 'constructs';
import { renderValue } from './validation';

/**
 * Returns `scope` for `super(checkedScope(scope, id, 'GpuNode'), id)`; throws when `scope` is not a
 * construct (`usage` shows the call) or `id` is already taken in it.
 */
export function checkedScope(scope: Construct, id: string, what: string, usage?: string): Construct {
  if (!Construct.isConstruct(scope)) {
    throw new Error(`${what}: scope must be a construct (the stack, or a construct in it), got ${renderValue(scope)}. ` +
      (usage ? `The call is ${usage}` : `The call is new ${what}(this, '<id>', { ... })`));
  }
  if (typeof id !== 'string' || id === '') {
    throw new Error(`${scope.node.path || 'the app'}: the id of a ${what} must be a non-empty string, got ${renderValue(id)}; ` +
      "give it a name unique in its scope, e.g. 'Node'");
  }
  const taken = scope.node.tryFindChild(id);
  if (taken) {
    const path = [scope.node.path, id].filter(Boolean).join('/');
    throw new Error(`${path}: the id '${id}' is already used in ${scope.node.path || 'the app'} by another construct (${taken.constructor.name}); ` +
      'give each construct its own id');
  }
  return scope;
}
