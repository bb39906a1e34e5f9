// RETAIN means retained whatever leaves the code: the record of RETAIN volumes (retained-volumes.json)
// turns a node removed from the code into a `removed { destroy = false }` block for its volume.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { GpuFleet, GpuFlavor, GpuModel, GpuNetwork, GpuNode, openstack, Peer, VolumeRemovalPolicy } from '../../src';
import { RETAINED_VOLUMES_CONTEXT } from '../../src/core/retained-volumes';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks } from '../support/checks';

const VOLUME = 'openstack_blockstorage_volume_v3';

interface Edit {
  readonly nodes?: string[];
  readonly destroyNodes?: string[];
  readonly fleetCount?: number;
}

function synth(record: string | false, edit: Edit): { json: any; warnings: string[]; dir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-'));
  // As cdktf's CLI passes cdktf.json's context (the test setup turns the record off this way).
  const saved = process.env.CDKTF_CONTEXT_JSON;
  process.env.CDKTF_CONTEXT_JSON = JSON.stringify({ [RETAINED_VOLUMES_CONTEXT]: record });
  const app = Testing.stubVersion(new App({ outdir, stackTraces: false }));
  process.env.CDKTF_CONTEXT_JSON = saved;
  const stack = new TerraformStack(app, 'ml');
  new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
  const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  const flavor = GpuFlavor.of(GpuModel.RTX_2080_TI, 1);
  for (const id of edit.nodes ?? []) {
    new GpuNode(stack, id, { flavor, network, dataVolume: { sizeGiB: 10 } });
  }
  for (const id of edit.destroyNodes ?? []) {
    new GpuNode(stack, id, { flavor, network, dataVolume: { sizeGiB: 10, removalPolicy: VolumeRemovalPolicy.DESTROY } });
  }
  if (edit.fleetCount) {
    new GpuFleet(stack, 'Train', { flavor, network, count: edit.fleetCount, dataVolume: { sizeGiB: 10 } });
  }
  app.synth();
  const dir = path.join(outdir, 'stacks', 'ml');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const warnings = (manifest.stacks.ml.annotations ?? []).filter((a: any) => a.level === '@cdktf/warn').map((a: any) => a.message);
  return { json, warnings, dir };
}

const volumeAddresses = (json: any) => Object.keys(json.resource[VOLUME] ?? {}).map((k) => `${VOLUME}.${k}`).sort();
const removedFrom = (json: any) => (json.removed ?? []).map((r: any) => r.from).filter((a: string) => a.startsWith(VOLUME)).sort();

describe('a RETAIN volume whose node leaves the code is forgotten, never deleted', () => {
  let record: string;
  beforeEach(() => { record = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'record-')), 'retained-volumes.json'); });

  test('synth records each RETAIN volume of the stack, not the DESTROY ones', () => {
    const first = synth(record, { nodes: ['A', 'B'], destroyNodes: ['Scratch'] });
    const entries = JSON.parse(fs.readFileSync(record, 'utf8')).stacks.ml;
    const retained = volumeAddresses(first.json).filter((a) => !a.includes('Scratch'));
    expect(Object.keys(entries).sort()).toEqual(retained);
    expect(Object.values(entries)).toEqual(expect.arrayContaining([{ volumeName: 'ml-A-data', node: 'ml/A' }]));
    expect(removedFrom(first.json)).toEqual([]);
  });

  test('deleting a node: its volume gets removed { destroy = false }, a warning names it, the other stays managed', () => {
    const before = synth(record, { nodes: ['A', 'B'] });
    const addressOfB = volumeAddresses(before.json).find((a) => a.includes('.B_'))!;
    const after = synth(record, { nodes: ['A'] });
    expect(removedFrom(after.json)).toEqual([addressOfB]);
    expect(after.json.removed.find((r: any) => r.from === addressOfB).lifecycle).toEqual({ destroy: false });
    expect(after.json.terraform.required_version).toBe('>= 1.7');
    expect(after.warnings.join('\n')).toMatch(/RETAIN data volume 'ml-B-data' \(of ml\/B, .*\) is no longer in the code: the next deploy forgets it/);
    expect(after.warnings.join('\n')).toMatch(/existingVolumeId/);
    // The record keeps the entry until the user deletes it, so every later deploy forgets it too.
    expect(Object.keys(JSON.parse(fs.readFileSync(record, 'utf8')).stacks.ml)).toContain(addressOfB);
    expectStackPassesChecks(withQuotaInDir(after.dir));
  });

  test('a fleet scaled from 3 to 2 forgets the third volume; scaled back up, the address is managed again', () => {
    const three = synth(record, { fleetCount: 3 });
    const third = volumeAddresses(three.json).find((a) => a.includes('-3_'))!;
    expect(third).toBeDefined();
    const two = synth(record, { fleetCount: 2 });
    expect(removedFrom(two.json)).toEqual([third]);
    expect(volumeAddresses(two.json)).not.toContain(third);
    const again = synth(record, { fleetCount: 3 });
    expect(removedFrom(again.json)).toEqual([]);
    expect(volumeAddresses(again.json)).toContain(third);
  });

  test('a DESTROY volume goes with its node: no removed block', () => {
    synth(record, { nodes: ['A'], destroyNodes: ['Scratch'] });
    const after = synth(record, { nodes: ['A'] });
    expect(removedFrom(after.json)).toEqual([]);
  });

  test('context false keeps no record (and so cannot protect a removed node; the README says so)', () => {
    synth(false, { nodes: ['A'] });
    expect(fs.existsSync(record)).toBe(false);
  });

  test('a broken record is an error that names the file and the fix', () => {
    fs.writeFileSync(record, '{ not json');
    expect(() => synth(record, { nodes: ['A'] })).toThrow(/retained-volumes.json: the record of RETAIN data volumes is not valid JSON .*restore it from version control/);
  });
});

describe('dataVolume.existingVolumeId attaches a volume the stack does not own', () => {
  const ID = '3f1c7a52-6b2e-4d7e-9a51-0c2d4e6f8a10';
  function node(dataVolume: any) {
    const stack = new TerraformStack(Testing.app(), 'ml');
    new openstack.provider.OpenstackProvider(stack, 'openstack', { cloud: 'openstack' });
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    const n = new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, dataVolume });
    return { stack, n, json: JSON.parse(Testing.synth(stack)) };
  }

  test('the id goes into block_device with delete_on_termination false; no volume resource', () => {
    const { json, n } = node({ existingVolumeId: ID });
    expect(json.resource[VOLUME]).toBeUndefined();
    const server = Object.values(json.resource.openstack_compute_instance_v2)[0] as any;
    expect(server.block_device[1]).toMatchObject({ uuid: ID, source_type: 'volume', delete_on_termination: false, boot_index: -1 });
    expect(n.dataVolumeId).toBe(ID);
    expect(n.dataVolume).toBeUndefined();
  });

  test('bad ids and options that cannot apply are errors naming the node and the fix', () => {
    expect(() => node({ existingVolumeId: 'ml-b-data' })).toThrow(/ml\/Node: dataVolume.existingVolumeId must be a Cinder volume id \(a UUID\), got 'ml-b-data'; find it with `openstack volume show/);
    expect(() => node({ existingVolumeId: ID, sizeGiB: 10 })).toThrow(/ml\/Node: dataVolume.existingVolumeId attaches a volume as it is, so sizeGiB cannot be set with it/);
    expect(() => node({})).toThrow(/ml\/Node: dataVolume needs sizeGiB for a new volume, or existingVolumeId/);
  });

  test('a fleet cannot share one existing volume among its nodes', () => {
    const stack = new TerraformStack(Testing.app(), 'ml');
    const network = new GpuNetwork(stack, 'Net', { sshFrom: [Peer.ipv4('10.0.0.0/8')] });
    expect(() => new GpuFleet(stack, 'Train', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network, count: 2, dataVolume: { existingVolumeId: ID } }))
      .toThrow(/ml\/Train: dataVolume.existingVolumeId would attach one volume to every node/);
  });
});
