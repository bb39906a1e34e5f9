// What is public API: the committed API.md (generated from the jsii assembly, and checked fresh by
// `npm run test:jsii` in CI) lists the members users may rely on; plumbing must not be among them.
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/checks';

const api = fs.readFileSync(path.join(PROJECT_ROOT, 'API.md'), 'utf8');
const anchor = (member: string) => `id="cdktf-openstack-gpu.${member}"`;

test.each([
  'GpuRecipe.render', 'GpuRecipe.key', 'GpuRecipe.steps', 'GpuRecipe.describe', 'GpuFlavor.resolve',
  'NodeImage.baseImageKey', 'INodeImage.baseImageKey', 'Peer.validate', 'Peer.property.ruleKey', 'Port.validate',
  'RecipeRenderOptions', 'RecipeStepOptions', 'RecipeStep',
])('%s is not public API', (member) => {
  expect(api).not.toContain(anchor(member));
});

test.each([
  // What users read or implement stays: INodeImage.bind is how an image source of one's own plugs in.
  'INodeImage.bind', 'KeyPair.fromName', 'GpuNode.property.recipeKey', 'GpuNode.property.userData', 'GpuNode.property.resource',
  'SnapshotImage.property.recipeKey',
])('%s is public API', (member) => {
  expect(api).toContain(anchor(member));
});
