import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { sharedCheckGap, testUnless } from './support/skip';

// The checker is CommonJS so ts-jest (CommonJS output) can require it directly;
// scripts/compare-schema.mjs is a thin ESM entry over the same module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compareSchemas } = require('../scripts/compare-schema.cjs') as {
  compareSchemas: (pinned: unknown, reference: unknown) => string[];
};

const ROOT = path.resolve(__dirname, '..');
const PINNED_PATH = path.join(ROOT, 'provider-schema', 'openstack-3.4.0.json');
const REFERENCE_REL = '../shared/openstack-provider/schema-3.4.0.json';
const REFERENCE_PATH = path.resolve(ROOT, REFERENCE_REL);
const CHECKER = path.join(ROOT, 'scripts', 'compare-schema.mjs');
const ADDRESS = 'registry.terraform.io/terraform-provider-openstack/openstack';

const EXPECTED_RESOURCES = [
  'openstack_blockstorage_volume_v3',
  'openstack_compute_instance_v2',
  'openstack_compute_keypair_v2',
  'openstack_compute_servergroup_v2',
  'openstack_compute_volume_attach_v2',
  'openstack_networking_floatingip_associate_v2',
  'openstack_networking_floatingip_v2',
  'openstack_networking_network_v2',
  'openstack_networking_port_v2',
  'openstack_networking_router_interface_v2',
  'openstack_networking_router_v2',
  'openstack_networking_secgroup_rule_v2',
  'openstack_networking_secgroup_v2',
  'openstack_networking_subnet_v2',
];
const EXPECTED_DATA_SOURCES = [
  'openstack_compute_flavor_v2',
  'openstack_compute_limits_v2',
  'openstack_images_image_ids_v2',
  'openstack_images_image_v2',
  'openstack_networking_network_v2',
  'openstack_networking_secgroup_v2',
  'openstack_networking_subnet_v2',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const loadPinned = (): Json => JSON.parse(fs.readFileSync(PINNED_PATH, 'utf8'));

describe('pinned openstack provider schema (v3.4.0)', () => {
  const pinned = loadPinned();
  const entry = pinned.provider_schemas?.[ADDRESS];

  test('lists exactly the expected resources, data sources and a provider block', () => {
    expect(pinned.format_version).toBe('1.0');
    expect(Object.keys(pinned.provider_schemas)).toEqual([ADDRESS]);
    expect(Object.keys(entry.resource_schemas).sort()).toEqual(EXPECTED_RESOURCES);
    expect(Object.keys(entry.data_source_schemas).sort()).toEqual(EXPECTED_DATA_SOURCES);

    const providerAttrs = entry.provider.block.attributes;
    for (const name of [
      'cloud', 'auth_url', 'region', 'user_name', 'password', 'tenant_name', 'tenant_id',
      'application_credential_id', 'application_credential_secret', 'user_domain_name',
      'project_domain_name', 'insecure', 'cacert_file', 'endpoint_type', 'endpoint_overrides',
    ]) {
      expect(providerAttrs[name]).toBeDefined();
      expect(providerAttrs[name].optional).toBe(true);
    }
    expect(providerAttrs.password.sensitive).toBe(true);

    // every resource / data source carries the implicit SDKv2 id attribute
    for (const map of [entry.resource_schemas, entry.data_source_schemas]) {
      for (const schema of Object.values<Json>(map)) {
        expect(schema.block.attributes.id).toEqual({ type: 'string', optional: true, computed: true });
      }
    }
    // a few load-bearing shapes
    const instance = entry.resource_schemas.openstack_compute_instance_v2.block;
    expect(instance.attributes.name).toMatchObject({ type: 'string', required: true });
    expect(instance.block_types.network.nesting_mode).toBe('list');
    expect(Object.keys(instance.block_types.timeouts.block.attributes).sort()).toEqual(['create', 'delete', 'update']);
  });

  const noReference = sharedCheckGap(fs.existsSync(REFERENCE_PATH) ? undefined : `${REFERENCE_REL} not found; the conformance check needs it`);
  testUnless(noReference, 'conforms to the provider reference schema', () => {
    const reference = JSON.parse(fs.readFileSync(REFERENCE_PATH, 'utf8'));
    expect(compareSchemas(pinned, reference)).toEqual([]);
  });

  test('checker reports exactly the injected differences', () => {
    const original = loadPinned();
    const mutated = structuredClone(original);
    const instance = mutated.provider_schemas[ADDRESS].resource_schemas.openstack_compute_instance_v2.block;
    instance.attributes.name.type = 'number';
    delete instance.attributes.admin_pass.sensitive;

    expect(compareSchemas(original, original)).toEqual([]);
    expect(compareSchemas(mutated, original).sort()).toEqual([
      'resource openstack_compute_instance_v2: attribute admin_pass: sensitive false != true',
      'resource openstack_compute_instance_v2: attribute name: type "number" != "string"',
    ]);
  });

  test('checker reports missing attributes, blocks and resources', () => {
    const original = loadPinned();
    const mutated = structuredClone(original);
    const e = mutated.provider_schemas[ADDRESS];
    delete e.provider.block.attributes.cloud;
    e.resource_schemas.openstack_networking_port_v2.block.block_types.binding.nesting_mode = 'set';
    e.data_source_schemas.openstack_made_up_v9 = { version: 0, block: {} };

    expect(compareSchemas(mutated, original)).toEqual([
      'provider: attribute cloud: missing in pinned',
      'resource openstack_networking_port_v2: block binding: nesting_mode "set" != "list"',
      'data source openstack_made_up_v9: missing in reference',
    ]);
  });

  test('CLI exits 2 on unreadable input and 1 on differences', () => {
    const missing = spawnSync(process.execPath, [CHECKER, PINNED_PATH, path.join(os.tmpdir(), 'no-such-schema.json')]);
    expect(missing.status).toBe(2);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-cmp-'));
    try {
      const mutated = loadPinned();
      mutated.provider_schemas[ADDRESS].resource_schemas.openstack_compute_keypair_v2.block.attributes.name.type = 'bool';
      const mutatedPath = path.join(dir, 'mutated.json');
      fs.writeFileSync(mutatedPath, JSON.stringify(mutated));
      const diff = spawnSync(process.execPath, [CHECKER, mutatedPath, PINNED_PATH], { encoding: 'utf8' });
      expect(diff.status).toBe(1);
      expect(diff.stdout.trim()).toBe('resource openstack_compute_keypair_v2: attribute name: type "bool" != "string"');

      const same = spawnSync(process.execPath, [CHECKER, PINNED_PATH, PINNED_PATH], { encoding: 'utf8' });
      expect(same.status).toBe(0);
      expect(same.stdout).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
