import { createHash } from 'crypto';
import { Annotations, Lazy, TerraformLocal, TerraformResource, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { dataOpenstackComputeFlavorV2, dataOpenstackComputeLimitsV2 } from '../../.gen/providers/openstack';
import { stackShared } from '../core/stack-shared';
import { tfLiteral } from '../core/template';
import { requireTerraformVersion } from '../core/terraform-version';
import { TerraformData } from '../core/terraform-data';

/**
 * App context key that turns every node's preflight off (`false`), for plans against a mock or test
 * provider and CI without a cloud: the lookups would read a quota of 0 and no PCI alias.
 */
export const PREFLIGHT_CONTEXT = 'cdktf-openstack-gpu:preflight';

/** False where the app's context says `cdktf-openstack-gpu:preflight: false` (or the string 'false'). */
export function preflightEnabledByContext(scope: Construct): boolean {
  const setting = scope.node.tryGetContext(PREFLIGHT_CONTEXT);
  return setting !== false && setting !== 'false';
}

/** What the preflight of one node checks. */
export interface PreflightSpec {
  readonly flavorName: string;
  readonly gpuCount: number;
  readonly modelId?: string;
  /** The node's server: the creation marker is written after it exists. */
  readonly instance: TerraformResource;
  readonly checkGpus: boolean;
  readonly checkQuota: boolean;
}

const quotaEntries = new WeakMap<TerraformStack, StackQuota>();
/** The construct paths of the nodes that share each flavor lookup, for its error message. */
const lookupUsers = new WeakMap<dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2, string[]>();

/**
 * Plan-time checks, so that a deploy fails before anything is created:
 * - the flavor exists: `openstack_compute_flavor_v2` fails the plan otherwise
 *   (dataSourceComputeFlavorV2Read: "Your query returned no results"; the diagnostic names this
 *   data source, `flavor_<flavor>_of_<first node's path>_*`, see readableLookupId). Nodes of a stack that
 *   expect the same of one flavor share one lookup;
 * - its `pci_passthrough:alias` extra spec (e.g. `rtx2080:2` or `a:1,b:1`) passes through as many
 *   GPUs as the node expects, where the cloud sets one (dataSourceComputeFlavorV2Attributes reads
 *   the extra specs with flavors.ListExtraSpecs);
 * - the project's compute quota (`openstack_compute_limits_v2`) has room for the stack's servers
 *   that this plan creates: instances, vCPUs and RAM of their flavors (-1 is unlimited).
 *
 * One check per stack (see stackQuota), however many nodes: per node only its creation marker
 * and a line in one local.
 *
 * Which servers are new: each node has a `terraform_data` marker, written after its server,
 * whose input is `plantimestamp()` with ignore_changes; its planned input equals this plan's
 * timestamp only in the plan that creates it. Servers that exist are in the quota's usage
 * already, and a rollout (destroy, then create) needs no more room than it frees.
 */
export function addPreflight(scope: Construct, spec: PreflightSpec): void {
  const stack = TerraformStack.of(scope);
  const flavor = flavorLookup(scope, spec);
  if (!spec.checkQuota) return;
  // plantimestamp() needs Terraform 1.5.
  requireTerraformVersion(stack, 5);
  const marker = new TerraformData(scope, 'PreflightCreated', {
    input: { at: '${plantimestamp()}' },
    lifecycle: { ignoreChanges: ['input'] },
    dependsOn: [spec.instance],
  });
  const quota = stackQuota(stack);
  let flavorKey = quota.flavorKeys.get(flavor);
  if (flavorKey === undefined) {
    flavorKey = `f${quota.flavorKeys.size}`;
    quota.flavorKeys.set(flavor, flavorKey);
    const data = `data.${flavor.terraformResourceType}.${flavor.friendlyUniqueId}`;
    quota.flavors[flavorKey] = { name: tfLiteral(spec.flavorName), vcpus: `\${coalesce(${data}.vcpus, 0)}`, ram: `\${coalesce(${data}.ram, 0)}` };
  }
  // One line per node, grouped by flavor: path -> its marker's time (this plan's timestamp when the plan creates its server).
  (quota.nodes[flavorKey] ??= {})[tfLiteral(scope.node.path)] = `\${terraform_data.${marker.friendlyUniqueId}.input.at}`;
}

/**
 * An info line at synth for a flavor its node's profile does not list (GpuFlavor.named): the plan's
 * lookup error, should the cloud not have it either, can name only the flavor and the node (see
 * readableLookupId), so synth says what the profile offers.
 */
export function noteFlavorOutsideProfile(scope: Construct, flavorName: string, profile: { name: string; flavors: { flavorName: string }[] }): void {
  if (Token.isUnresolved(flavorName) || profile.flavors.some((f) => f.flavorName === flavorName)) return;
  const offers = profile.flavors.map((f) => f.flavorName);
  Annotations.of(scope).addInfo(`${scope.node.path}: flavor '${flavorName}' is not in cloud profile '${profile.name}' ` +
    `(${offers.length > 0 ? `it offers ${offers.join(', ')}` : 'it lists no flavors'}). If the plan fails with "Your query returned no results" ` +
    `at data.openstack_compute_flavor_v2.flavor_${flavorName.replace(/[^A-Za-z0-9_-]/g, '_')}_of_..., the cloud has no such flavor either: ` +
    'check `openstack flavor list`, or use GpuFlavor.of() with the profile of this cloud');
}

/** One flavor lookup per stack for the nodes that expect the same of a flavor (name, GPU check). */
function flavorLookup(scope: Construct, spec: PreflightSpec): dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2 {
  const expects = spec.checkGpus ? `${spec.gpuCount}x${spec.modelId ?? ''}` : 'any';
  const id = Token.isUnresolved(spec.flavorName) ? `ByToken-${scope.node.addr}`
    : `${spec.flavorName.replace(/[^A-Za-z0-9]+/g, '').slice(0, 40)}-${createHash('sha256').update(`${spec.flavorName}\n${expects}`).digest('hex').slice(0, 8)}`;
  const holder = stackShared(scope, 'GpuNodePreflightFlavors');
  const found = holder.node.tryFindChild(id) as dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2 | undefined;
  if (found) {
    lookupUsers.get(found)!.push(scope.node.path);
    return found;
  }
  const users = [scope.node.path];
  const flavor = new dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2(holder, id, {
    name: tfLiteral(spec.flavorName),
    lifecycle: spec.checkGpus ? { postcondition: [gpuCondition(users, spec)] } : undefined,
  });
  // A missing flavor fails the plan with the provider's own text ("Your query returned no results",
  // dataSourceComputeFlavorV2Read), which no configuration can replace: provider 3.4 has no flavor
  // lookup that answers "none" without failing, and a check-scoped lookup only turns the error into a
  // warning and leaves its assertion unknown. What Terraform does print is the lookup's address, so the
  // address says what failed: the flavor as written and the first node that uses it.
  if (!Token.isUnresolved(spec.flavorName)) flavor.overrideLogicalId(readableLookupId(spec.flavorName, scope.node.path, id));
  lookupUsers.set(flavor, users);
  return flavor;
}

/**
 * `flavor_<name>_of_<node path>_<hash>`: the flavor name and the path with every character Terraform
 * does not allow in a name as `_` (e.g. `flavor_g1-1x2080_large_of_gpu-node_Node_1f4e3d44`), the hash of
 * the lookup's id keeping names unique.
 */
export function readableLookupId(flavorName: string, path: string, id: string): string {
  const clean = (text: string, max: number) => text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, max);
  return `flavor_${clean(flavorName, 80)}_of_${clean(path, 120)}_${id.slice(-8)}`;
}

/**
 * The stack's one quota check: the limits lookup, a local that lists every node whose quota is
 * checked (by flavor: construct path -> its creation marker's time) and one precondition.
 * Its message names the new servers that do not fit, by flavor and path (Terraform's order of map
 * keys; the first new servers, as many as fit, are left out).
 */
function stackQuota(stack: TerraformStack): StackQuota {
  const found = quotaEntries.get(stack);
  if (found) return found;
  // An empty project_id: gophercloud then sends no tenant_id, and Nova returns the limits of
  // the token's project (nova/api/openstack/compute/limits.py LimitsController._index checks
  // the admin-only os_compute_api:limits:other_project policy whenever tenant_id is given).
  const limits = new dataOpenstackComputeLimitsV2.DataOpenstackComputeLimitsV2(stack, 'GpuNodePreflightLimits', { projectId: '' });
  const quota: StackQuota = { nodes: {}, flavors: {}, flavorKeys: new Map() };
  const l = `data.${limits.terraformResourceType}.${limits.friendlyUniqueId}`;
  // Lazy: the lists cover every node of the stack, also those constructed later.
  const nodes = new TerraformLocal(stack, 'GpuNodePreflightNodes', Lazy.anyValue({ produce: () => quota.nodes }));
  const flavors = new TerraformLocal(stack, 'GpuNodePreflightFlavorSizes', Lazy.anyValue({ produce: () => quota.flavors }));
  const f = `local.${flavors.friendlyUniqueId}`;
  // Per flavor: its name and sizes and the paths of the nodes whose server this plan creates.
  const fresh = new TerraformLocal(stack, 'GpuNodePreflightNew',
    `\${[for key, paths in local.${nodes.friendlyUniqueId} : { flavor = ${f}[key].name, cores = ${f}[key].vcpus, ram = ${f}[key].ram, ` +
    'paths = [for path, at in paths : path if at == plantimestamp()] }]}');
  const n = `local.${fresh.friendlyUniqueId}`;
  // Sums over the flavor groups before group `gi` (over all without it): node counts, times each group's size.
  const before = (gi: string | undefined, size: (group: string) => string) =>
    `sum(concat([0], [for h, e in ${n} : length(e.paths)${size('e')}${gi === undefined ? '' : ` if h < ${gi}`}]))`;
  const all = (size: (group: string) => string) => before(undefined, size);
  const local = new TerraformLocal(stack, 'GpuNodePreflight', {
    max_instances: `\${${l}.max_total_instances}`, instances_used: `\${${l}.total_instances_used}`, new_instances: `\${${all(() => '')}}`,
    max_cores: `\${${l}.max_total_cores}`, cores_used: `\${${l}.total_cores_used}`, new_cores: `\${${all((e) => ` * ${e}.cores`)}}`,
    max_ram: `\${${l}.max_total_ram_size}`, ram_used: `\${${l}.total_ram_used}`, new_ram: `\${${all((e) => ` * ${e}.ram`)}}`,
  });
  const p = `local.${local.friendlyUniqueId}`;
  const fits = (max: string, used: string, need: string) => `(${l}.${max} < 0 || ${l}.${used} + ${need} <= ${l}.${max})`;
  const fitsAll = (instances: string, cores: string, ram: string) => `${fits('max_total_instances', 'total_instances_used', instances)} && ` +
    `${fits('max_total_cores', 'total_cores_used', cores)} && ${fits('max_total_ram_size', 'total_ram_used', ram)}`;
  // Locals cannot refer to themselves, so the verdict is a local of its own.
  const verdict = new TerraformLocal(stack, 'GpuNodePreflightFits',
    `\${${fitsAll(`${p}.new_instances`, `${p}.new_cores`, `${p}.new_ram`)}}`);
  // The new servers up to the j-th of flavor group gi, together: does the quota have room for them?
  // (Linear in the nodes times the flavors; Terraform evaluates the message at every plan.)
  const misfits = `flatten([for gi, g in ${n} : [for j, path in g.paths : "\${path} (flavor \${g.flavor})" if !(${fitsAll(
    `${before('gi', () => '')} + j + 1`, `${before('gi', (e) => ` * ${e}.cores`)} + (j + 1) * g.cores`,
    `${before('gi', (e) => ` * ${e}.ram`)} + (j + 1) * g.ram`)})]])`;
  new TerraformData(stack, 'GpuNodePreflightQuota', {
    lifecycle: {
      precondition: [{
        condition: `\${local.${verdict.friendlyUniqueId}}`,
        errorMessage: `\${join(", ", ${misfits})}: the project's quota has no room for these new servers of this stack: instances ` +
          `\${${p}.instances_used} used + \${${p}.new_instances} new of \${${p}.max_instances}, vCPUs \${${p}.cores_used} + ` +
          `\${${p}.new_cores} of \${${p}.max_cores}, RAM \${${p}.ram_used} + \${${p}.new_ram} of \${${p}.max_ram} MiB (-1 = unlimited); free some of the quota (shelved nodes ` +
          'still count as instances), or set preflight: { quota: false } on these nodes to skip the check',
      }],
    },
  });
  quotaEntries.set(stack, quota);
  return quota;
}

interface StackQuota {
  /** Per flavor key, every node whose quota is checked: its path -> its creation marker's time (an HCL template). */
  readonly nodes: { [flavorKey: string]: { [path: string]: string } };
  /** Per flavor lookup: its name and sizes (HCL templates). */
  readonly flavors: { [key: string]: { name: string; vcpus: string; ram: string } };
  readonly flavorKeys: Map<dataOpenstackComputeFlavorV2.DataOpenstackComputeFlavorV2, string>;
}

/** `users`: the paths of the nodes that share the lookup (more may join after this call). */
function gpuCondition(users: string[], spec: PreflightSpec) {
  const alias = 'lookup(self.extra_specs, "pci_passthrough:alias", "")';
  // "name:count[,name:count]": the sum of the counts; 0 terms when the flavor has no alias.
  const count = `sum(concat([0], [for m in regexall(":\\\\s*([0-9]+)", ${alias}) : tonumber(m[0])]))`;
  const promised = `${spec.gpuCount}${spec.modelId ? ` x ${spec.modelId}` : ''}`;
  return {
    condition: `\${${alias} == "" || ${count} == ${spec.gpuCount}}`,
    errorMessage: `${Lazy.stringValue({ produce: () => tfLiteral(users.join(', ')) })}: flavor ${tfLiteral(spec.flavorName)} passes through \${${count}} GPUs ` +
      `(pci_passthrough:alias = "\${${alias}}"), but ${Lazy.stringValue({ produce: () => (users.length > 1 ? 'these nodes expect' : 'the node expects') })} ` +
      `${tfLiteral(promised)}; fix the flavor's GPUs in the cloud profile (withFlavor()) or GpuFlavor.named(), ` +
      'or set preflight: { gpus: false } where the alias does not count GPUs',
  };
}
