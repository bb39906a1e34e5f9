// The example app (main.ts), synthesized as `cdktf synth` does, and every stack checked offline.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { expectStackPassesChecks, PROJECT_ROOT, userDataOf } from './support/checks';
import { withQuotaInDir } from './support/cloud-facts';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-example-'));
// First on PATH: a `terraform` that records any call, as synth must never run one.
const stubBin = fs.mkdtempSync(path.join(os.tmpdir(), 'no-terraform-'));
const terraformCalls = path.join(stubBin, 'calls.log');

beforeAll(() => {
  fs.writeFileSync(path.join(stubBin, 'terraform'), `#!/bin/sh\necho "terraform $*" >>'${terraformCalls}'\nexit 1\n`, { mode: 0o755 });
  const env: NodeJS.ProcessEnv = {
    ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', PATH: `${stubBin}:${process.env.PATH}`,
  };
  // The defaults of the example, whatever the developer's shell has set.
  for (const name of ['GPU_USER', 'SSH_PUBLIC_KEY_FILE', 'SSH_ALLOWED_CIDR', 'OS_CLOUD', 'OS_AUTH_URL', 'OS_REGION_NAME']) delete env[name];
  const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin'), '--transpile-only', 'main.ts'], {
    cwd: PROJECT_ROOT, env, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`main.ts failed:\n${r.stdout}\n${r.stderr}`);
});

const stacks = () => fs.readdirSync(path.join(outdir, 'stacks')).sort();
const stackJson = (name: string) => JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));

test('the example app synthesizes its stacks', () => {
  expect(stacks()).toEqual(['bake', 'gpu-burn-in', 'gpu-cluster', 'gpu-fleet', 'gpu-node', 'workers']);
});

test('synth runs no terraform; stacks with terraform_data require Terraform 1.4 instead', () => {
  expect(fs.existsSync(terraformCalls) ? fs.readFileSync(terraformCalls, 'utf8') : '').toBe('');
  for (const name of stacks()) {
    const json = stackJson(name);
    const version = json.terraform.required_version;
    if (!json.resource?.terraform_data) continue;
    // At least 1.4 for terraform_data (more where the stack uses later features, e.g. `removed` blocks).
    expect([name, version]).toEqual([name, expect.stringMatching(/^>= 1\.\d+$/)]);
    expect(Number(/\.(\d+)$/.exec(version)![1])).toBeGreaterThanOrEqual(4);
  }
});

const readme = () => fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
const floorOf = (version: string) => Number(/^>= 1\.(\d+)$/.exec(version)?.[1]);

test("the README's table of example stacks is what main.ts synthesizes, with each stack's Terraform version", () => {
  const table = /<!-- example-stacks -->\n([\s\S]*?)<!-- \/example-stacks -->/.exec(readme())![1];
  const rows = [...table.matchAll(/^\| `([^`]+)` \| [^|]+ \| 1\.(\d+) or newer \|$/gm)].map((m) => [m[1], Number(m[2])]);
  expect(rows.map(([name]) => name).sort()).toEqual(stacks());
  expect(rows).toEqual(rows.map(([name]) => [name, floorOf(stackJson(name as string).terraform.required_version)]));
});

test('the README counts no stacks or tests by hand (the table above and jest say them)', () => {
  const words = '(?:\\d[\\d,]*|one|two|three|four|five|six|seven|eight|nine|ten)';
  expect(readme()).not.toMatch(new RegExp(`\\b\\d[\\d,]* (?:unit |jest )?tests\\b|main\\.ts\` has ${words} stacks|example app's ${words}\\b|\\(${words} stacks`, 'i'));
});

test('the README asks for the Terraform that every example stack can run with, and names the OpenTofu the tier builds', () => {
  const needed = Math.max(...stacks().map((name) => floorOf(stackJson(name).terraform.required_version)));
  // A stack with a data volume needs 1.7 (`removed` blocks): the example's gpu-node stack has one.
  expect(needed).toBe(7);
  const text = readme();
  const claims = [
    /and `terraform` \(1\.(\d+) or newer/.exec(text)?.[1],
    /Terraform \(the `terraform` CLI, 1\.(\d+) or newer/.exec(text)?.[1],
    /OpenTofu 1\.(\d+) or newer/.exec(text)?.[1],
  ].map(Number);
  expect(claims).toEqual([needed, needed, needed]);
  const tofu = /^tofu_version=(\S+)$/m.exec(fs.readFileSync(path.join(PROJECT_ROOT, 'cloud-tier', 'tools.sh'), 'utf8'))![1];
  expect(text).toContain(`builds OpenTofu ${tofu}`);
});

test('every stack requires the OpenStack provider and configures it only through clouds.yaml', () => {
  for (const name of stacks()) {
    const json = stackJson(name);
    expect(json.terraform.required_providers.openstack).toEqual({
      source: 'terraform-provider-openstack/openstack',
      version: '~> 3.4',
    });
    expect(json.provider.openstack).toEqual([{ cloud: 'openstack' }]);
    // Every node's rollout trigger has a key "token" (its rolloutToken, '' by default): not a credential.
    const text = JSON.stringify(json).replace(/"triggers_replace":\{"token":/g, '"triggers_replace":{"rollout-token":');
    expect(text).not.toMatch(/"(password|application_credential_secret|token)"/);
  }
});

test('the gpu-node stack boots a g1-1x2080.medium with a floating IP and prints the ssh command', () => {
  const json = stackJson('gpu-node');
  const [server] = Object.values<any>(json.resource.openstack_compute_instance_v2);
  expect(server.flavor_name).toBe('g1-1x2080.medium');
  expect(userDataOf(json, server)).toMatch(/^#cloud-config\n/);
  expect(Object.keys(json.resource.openstack_networking_floatingip_v2)).toHaveLength(1);
  const ssh = Object.entries<any>(json.output).find(([k]) => /SshCommand/.test(k));
  expect(ssh?.[1].value).toMatch(/^ssh -i \S+ ubuntu@\$\{openstack_networking_floatingip_v2\.\S+\.address\}$/);

  // The deploy waits for the ready line (one watcher, run by local-exec), and the plan checks flavor and quota first.
  const waits = Object.entries<any>(json.resource.terraform_data).filter(([k]) => k.includes('WaitForReady'));
  expect(waits).toHaveLength(1);
  expect(JSON.stringify(waits[0][1].provisioner)).toContain('gpu-node-watch.sh');
  expect(Object.keys(json.data.openstack_compute_flavor_v2).some((k) => /^flavor_g1-.*_of_gpu-node_/.test(k))).toBe(true);
  expect(json.data.openstack_compute_limits_v2).toBeDefined();
});

test('the burn-in stack runs gpu-burn on four RTX 2060 SUPER', () => {
  const json = stackJson('gpu-burn-in');
  const [server] = Object.values<any>(json.resource.openstack_compute_instance_v2);
  expect(server.flavor_name).toBe('g1-4x2060.medium');
  expect(userDataOf(json, server)).toContain("GPU_NODE_BURN_SECONDS='600'");
  expect(userDataOf(json, server)).toContain("GPU_NODE_EXPECTED_GPUS='4'");
});

test('bake and workers share the recipe key: the workers boot what bake made', () => {
  const bake = stackJson('bake');
  const workers = stackJson('workers');
  const [tag] = Object.values<any>(bake.data.openstack_images_image_ids_v2)[0].tags;
  const key = tag.replace(/^gpu-node-recipe-/, '');
  expect(key).toMatch(/^[0-9a-f]{16}$/);
  const lookups = Object.values<any>(workers.data.openstack_images_image_ids_v2);
  expect(lookups.length).toBeGreaterThan(0);
  for (const lookup of lookups) expect(lookup.tags).toEqual([tag]);
  const servers = Object.values<any>(workers.resource.openstack_compute_instance_v2);
  expect(servers.map((s) => s.power_state)).toEqual(['active', 'shelved_offloaded']);
  expect(servers.every((s) => s.image_id.includes('openstack_images_image_ids_v2'))).toBe(true);
  const bakeData = Object.values<any>(bake.resource.terraform_data)[0];
  expect(bakeData.provisioner[0]['local-exec'].environment.BAKE_RECIPE_KEY).toBe(key);
});

test('the gpu-fleet stack: three g1-1x2080.medium in one soft-anti-affinity group, members open to each other, one SSH config', () => {
  const json = stackJson('gpu-fleet');
  const servers = Object.values<any>(json.resource.openstack_compute_instance_v2);
  expect(servers.map((s) => s.flavor_name)).toEqual(Array(3).fill('g1-1x2080.medium'));
  const [[groupId, group]] = Object.entries<any>(json.resource.openstack_compute_servergroup_v2);
  expect(group.policies).toEqual(['soft-anti-affinity']);
  for (const s of servers) expect(s.scheduler_hints).toEqual([{ group: `\${openstack_compute_servergroup_v2.${groupId}.id}` }]);
  expect(new Set(servers.map((s) => s.user_data)).size).toBe(1);
  const rules = Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2);
  expect(rules.filter((r) => r.remote_group_id && r.remote_group_id === r.security_group_id && r.protocol === undefined)).toHaveLength(1);
  const config = Object.entries<any>(json.output).find(([k]) => /SshConfig/.test(k))![1].value;
  expect(config.match(/^Host /gm)).toHaveLength(3);
});

test('the gpu-cluster stack: a head and two g1-2x2080.medium workers, only the head with a floating IP, an sbatch line', () => {
  const json = stackJson('gpu-cluster');
  const servers = Object.values<any>(json.resource.openstack_compute_instance_v2);
  expect(servers.map((s) => [s.name, s.flavor_name]).sort()).toEqual([
    ['gpu-cluster-gpu-1', 'g1-2x2080.medium'], ['gpu-cluster-gpu-2', 'g1-2x2080.medium'], ['gpu-cluster-head', 'g1-1x2060.medium'],
  ]);
  expect(Object.keys(json.resource.openstack_networking_floatingip_v2)).toHaveLength(1);
  const head = servers.find((s) => s.name === 'gpu-cluster-head');
  expect(userDataOf(json, head)).toContain('/opt/gpu-cluster/bin/slurm-head-setup');
  const sbatch = Object.entries<any>(json.output).find(([k]) => /ExampleSbatch/.test(k))![1].value;
  expect(sbatch).toBe("sbatch -p gpu -N 2 --gres=gpu:2 --wrap 'srun nvidia-smi -L'");
});

describe('offline checks of every stack (validate.mjs and terraform plan)', () => {
  test.each(['gpu-node', 'gpu-burn-in', 'bake', 'workers', 'gpu-fleet', 'gpu-cluster'])('%s', (name) => {
    // The stand-in's quota is 0 instances, which the preflight rightly refuses: give it a real one.
    expectStackPassesChecks(withQuotaInDir(path.join(outdir, 'stacks', name)));
  });
});
