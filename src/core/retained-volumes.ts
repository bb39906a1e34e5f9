import * as fs from 'fs';
import * as path from 'path';
import { Annotations, IAspect, Aspects, TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { requireTerraformVersion } from './terraform-version';

/**
 * App context key: the path of the record of RETAIN data volumes (relative to the directory the app
 * runs in, the cdktf project), or `false` for none.
 */
export const RETAINED_VOLUMES_CONTEXT = 'cdktf-openstack-gpu:retainedVolumesFile';
/** The record's default file name, in the directory the app runs in (where cdktf.json is). */
export const RETAINED_VOLUMES_FILE = 'retained-volumes.json';

interface RecordEntry {
  readonly volumeName: string;
  readonly node: string;
}

interface VolumeRecord {
  readonly stacks: { [stack: string]: { [address: string]: RecordEntry } };
}

interface StackGuard {
  readonly file?: string;
  /** The RETAIN volumes the code has now, by Terraform address. */
  readonly current: Map<string, RecordEntry>;
  /** Every `removed { destroy = false }` block of the stack, by address. */
  readonly removed: Set<string>;
}

const guards = new WeakMap<TerraformStack, StackGuard>();

/**
 * Terraform enforces `prevent_destroy` only while the resource is in the configuration: a RETAIN
 * volume whose node was removed from the code (a deleted `GpuNode`, a fleet scaled down, a Slurm
 * worker dropped, a renamed construct) would be deleted by the next deploy. So the library keeps a
 * record of every RETAIN volume it wrote, per stack and Terraform address, in a file of the
 * project (like AWS CDK's cdk.context.json: commit it). A recorded volume that the code no longer
 * has gets a `removed { from = <address>, lifecycle { destroy = false } }` block (Terraform 1.7+):
 * the deploy forgets it, the volume stays in the cloud, and synth says which one and how to use or
 * delete it. A `removed` block for an address that is not in the state does nothing.
 *
 * Runs in every stack that holds a construct of this library (each calls this), so a stack whose
 * last node went still has its network, keypair or security group to carry the check.
 */
export function guardRetainedVolumes(scope: IConstruct): StackGuard {
  const stack = TerraformStack.of(scope);
  let guard = guards.get(stack);
  if (guard) return guard;
  guard = { file: recordFile(stack), current: new Map(), removed: new Set() };
  guards.set(stack, guard);
  Aspects.of(stack).add(new RetainedVolumeCheck(stack, guard));
  return guard;
}

/** Records a RETAIN volume of the code; its address is the volume resource's. */
export function recordRetainedVolume(volume: Construct & { terraformResourceType: string; friendlyUniqueId: string }, entry: RecordEntry): void {
  const guard = guardRetainedVolumes(volume);
  guard.current.set(`${volume.terraformResourceType}.${volume.friendlyUniqueId}`, entry);
}

/** Makes Terraform forget an address of the stack without destroying what it names (Terraform 1.7+). */
export function forgetAddress(scope: IConstruct, address: string): void {
  const guard = guardRetainedVolumes(scope);
  guard.removed.add(address);
  requireTerraformVersion(TerraformStack.of(scope), 7);
}

function recordFile(stack: TerraformStack): string | undefined {
  const setting = stack.node.tryGetContext(RETAINED_VOLUMES_CONTEXT);
  if (setting === false || setting === 'false') return undefined;
  if (setting !== undefined && typeof setting !== 'string') {
    throw new Error(`${stack.node.path}: context '${RETAINED_VOLUMES_CONTEXT}' must be a file path or false, got ${JSON.stringify(setting)}`);
  }
  return path.resolve(setting ?? RETAINED_VOLUMES_FILE);
}

function readRecord(file: string): VolumeRecord {
  if (!fs.existsSync(file)) return { stacks: {} };
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (parsed && typeof parsed.stacks === 'object' && parsed.stacks !== null) return parsed;
  } catch (e) {
    throw new Error(`${file}: the record of RETAIN data volumes is not valid JSON (${(e as Error).message}); restore it from version control`);
  }
  throw new Error(`${file}: the record of RETAIN data volumes has no "stacks" object; restore it from version control`);
}

const RECORD_NOTE = 'cdktf-openstack-gpu: the RETAIN data volumes each stack has had, by Terraform address. ' +
  'Commit this file: when a node leaves the code, synth finds its volume here and makes the deploy forget it ' +
  'instead of deleting it. Delete an entry only after its volume is attached elsewhere or deleted on purpose.';

class RetainedVolumeCheck implements IAspect {
  private done = false;
  constructor(private readonly stack: TerraformStack, private readonly guard: StackGuard) {}

  public visit(node: IConstruct): void {
    if (node !== this.stack || this.done) return;
    this.done = true;
    if (this.guard.file) this.compareWithRecord(this.guard.file);
    const removed = [...this.guard.removed].sort();
    if (removed.length > 0) {
      this.stack.addOverride('removed', removed.map((from) => ({ from, lifecycle: { destroy: false } })));
    }
  }

  private compareWithRecord(file: string): void {
    const stackName = this.stack.node.id;
    const record = readRecord(file);
    const recorded = record.stacks[stackName] ?? {};
    for (const [address, entry] of Object.entries(recorded).sort(([a], [b]) => a.localeCompare(b))) {
      if (this.guard.current.has(address)) continue;
      this.guard.removed.add(address);
      requireTerraformVersion(this.stack, 7);
      Annotations.of(this.stack).addWarning(`RETAIN data volume '${entry.volumeName}' (of ${entry.node}, ${address}) is no longer in the code: ` +
        'the next deploy forgets it and leaves it in the cloud, it is not deleted. To use it again, give a node ' +
        `dataVolume: { existingVolumeId: '<id>' } (the id: openstack volume show ${entry.volumeName} -f value -c id); ` +
        `to delete it, openstack volume delete <id>. Then remove its entry from ${path.basename(file)}.`);
    }
    const next = { ...recorded };
    for (const [address, entry] of this.guard.current) next[address] = entry;
    const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)));
    if (JSON.stringify(sorted) === JSON.stringify(recorded)) return;
    const stacks = { ...record.stacks, [stackName]: sorted };
    const text = `${JSON.stringify({ '//': RECORD_NOTE, 'stacks': sortKeys(stacks) }, undefined, 2)}\n`;
    fs.writeFileSync(file, text);
  }
}

function sortKeys<T>(o: { [k: string]: T }): { [k: string]: T } {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
