// A property-based round (fast-check) over the value types: whatever a caller passes to Peer, Port,
// GpuFlavor, NvidiaDriver, CudaToolkit, names, recipe paths and metadata gives either a clear error
// (it names where, and is no TypeError or cdktf token text) or a stack that the shared validator
// accepts, with user text kept literal for Terraform. Tokens pass where the README says they may.
// Runs are few and seeded, so `npm test` stays fast and a failure reproduces; RUNS_PER_PROPERTY x
// PROPERTIES is the count reported in the summary line.
import * as fc from 'fast-check';
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  CudaToolkit, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KernelModules, NvidiaDriver, openstack, Peer, Port, PowerState,
  SecurityGroup, ServerGroup,
} from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';

const RUNS_PER_PROPERTY = 40;
const SEED = 21;
const runs: { [property: string]: { accepted: number; refused: number } } = {};

/** A message that says where: the construct path or the factory, then a colon. */
const WHERE = /^(t\/[^:]+|Peer\.\w+|Port|GpuFlavor\.\w+|NvidiaDriver(\.branch)?|CudaToolkit|GpuRecipe [\w.-]+|CloudProfile \S+): \S/;

/** Runs `attempt`; an error must be clear. Returns whether the value was accepted. */
function clearOrAccepted(property: string, attempt: () => void): boolean {
  runs[property] ??= { accepted: 0, refused: 0 };
  try {
    attempt();
    runs[property].accepted++;
    return true;
  } catch (e) {
    runs[property].refused++;
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).constructor).toBe(Error);
    const text = (e as Error).message;
    expect(text).toMatch(WHERE);
    expect(text).not.toMatch(/TfToken|Cannot read prop|is not a function|undefined is not|e\+\d{3}/);
    return false;
  }
}

function stack(app = Testing.app()): TerraformStack {
  const s = new TerraformStack(app, 't');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  return s;
}
const options = { seed: SEED, numRuns: RUNS_PER_PROPERTY };
const junk = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('', ' ', '${x}', '%{y}', '\u007f', 'a\nb'));

/** Accepted inputs that go into the checked stack (a real `terraform plan` of many nodes is slow on a loaded machine). */
const CHECKED_PER_PROPERTY = 8;

/** The accepted inputs of a property (the first few), built again into one stack that must pass the shared validator and plan. */
function expectValid<T>(accepted: T[], add: (s: TerraformStack, value: T, i: number) => void): any {
  const { dir, json } = synthToDir((app: App) => {
    const s = stack(app);
    accepted.slice(0, CHECKED_PER_PROPERTY).forEach((v, i) => add(s, v, i));
    return s;
  });
  expectStackPassesChecks(withQuotaInDir(dir));
  return json;
}

test('Peer: CIDR text of either family', () => {
  // Blocks with their host bits cleared (IPv6 in any spelling: capitals, leading zeros, groups written out), any address, and junk.
  const v4Block = fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 })).map(([a, p]) => {
    const net = p === 0 ? 0 : (a >>> (32 - p)) * 2 ** (32 - p);
    return ['4', `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${p}`];
  });
  const v6Block = fc.tuple(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 }), fc.boolean(), fc.boolean())
    .map(([groups, p, upper, padded]) => {
      const masked = groups.map((g, i) => { const keep = Math.max(0, Math.min(16, p - 16 * i)); return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff; });
      const text = masked.map((g) => (padded ? g.toString(16).padStart(4, '0') : g.toString(16))).join(':');
      return ['6', `${upper ? text.toUpperCase() : text}/${p}`];
    });
  const cidr = fc.oneof(
    { arbitrary: v4Block, weight: 3 }, { arbitrary: v6Block, weight: 3 },
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 33 })).map(([a, p]) => ['4', `${a}/${p}`]),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 129 })).map(([a, p]) => ['6', `${a}/${p}`]),
    fc.tuple(fc.constantFrom('4', '6'), junk),
  );
  const accepted: [string, string][] = [];
  fc.assert(fc.property(cidr, ([family, text]) => {
    const peer = () => (family === '4' ? Peer.ipv4(text) : Peer.ipv6(text));
    if (clearOrAccepted('Peer', () => new SecurityGroup(stack(), 'Sg', { sshFrom: [peer()] }))) accepted.push([family, text]);
  }), options);
  const json = expectValid(accepted, (s, [family, text], i) => new SecurityGroup(s, `Sg${i}`, { sshFrom: [family === '4' ? Peer.ipv4(text) : Peer.ipv6(text)] }));
  // IPv6 blocks are written as Neutron stores them: lower case, no leading zeros, '::' for the longest zero run.
  for (const rule of Object.values<any>(json.resource.openstack_networking_secgroup_rule_v2)) {
    if (rule.ethertype === 'IPv6') expect(rule.remote_ip_prefix).toMatch(/^(::|[0-9a-f]{1,4}(::?[0-9a-f]{1,4})*(::)?)(ffff:\d+\.\d+\.\d+\.\d+)?\/\d+$/);
    if (rule.ethertype === 'IPv6') expect(rule.remote_ip_prefix).not.toMatch(/(^|:)0[0-9a-f]|:0:0:|[A-F]/);
  }
});

test('Port: numbers of every kind', () => {
  // Doubles bounded, so that an exponent of three digits in a message can only be a token's internal number.
  const n = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 4 }, fc.integer({ min: -5, max: 70000 }), fc.double({ min: -1e6, max: 1e6 }), fc.constantFrom(0, 1, 65535, 65536, 1e21, NaN, Infinity));
  const accepted: [number, number][] = [];
  fc.assert(fc.property(n, n, fc.boolean(), (a, b, range) => {
    const port = range ? Port.tcpRange(a, b) : Port.udp(a);
    if (clearOrAccepted('Port', () => new SecurityGroup(stack(), 'Sg', { ingress: [{ port, peers: [Peer.ipv4('10.0.0.0/8')] }] }))) {
      accepted.push(range ? [a, b] : [a, a]);
    }
  }), options);
  expectValid(accepted, (s, [a, b], i) => new SecurityGroup(s, `Sg${i}`, { ingress: [{ port: Port.tcpRange(a, b), peers: [Peer.ipv4('10.0.0.0/8')] }] }));
});

test('GpuFlavor: names and GPU counts', () => {
  const name = fc.oneof({ arbitrary: fc.constantFrom('g1-1x2080.medium', 'g9.custom', 'a:b_c-d.e'), weight: 3 }, fc.stringMatching(/^[\w.:-]{1,20}$/), junk);
  const count = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 16 }), weight: 3 }, fc.integer({ min: -2, max: 20 }), fc.double({ min: -1e6, max: 1e6 }), fc.constantFrom(1e21, NaN, undefined));
  const accepted: [string, number | undefined][] = [];
  fc.assert(fc.property(name, count, (flavorName, gpuCount) => {
    if (clearOrAccepted('GpuFlavor', () => {
      const s = stack();
      new GpuNode(s, 'Node', { flavor: GpuFlavor.named(flavorName, { gpuCount }), network: GpuNetwork.forUser(s, 'Net', 'alice'), preflight: { quota: false } });
    })) accepted.push([flavorName, gpuCount]);
  }), options);
  const json = expectValid(accepted, (s, [flavorName, gpuCount], i) => new GpuNode(s, `Node${i}`, {
    flavor: GpuFlavor.named(flavorName, { gpuCount }), network: GpuNetwork.forUser(s, `Net${i}`, 'alice'), nodeName: `n${i}`, preflight: { quota: false },
  }));
  expect(JSON.stringify(json)).not.toMatch(/e\+\d/);
});

test('NvidiaDriver and CudaToolkit: branches, kernel modules and versions', () => {
  const branch = fc.oneof({ arbitrary: fc.constantFrom(470, 515, 535, 550, 570, 575, 580, 590), weight: 4 }, fc.integer({ min: 400, max: 1000 }), fc.double({ min: 400, max: 1000 }));
  const modules = fc.oneof({ arbitrary: fc.constantFrom<any>(KernelModules.OPEN, KernelModules.PROPRIETARY, undefined), weight: 4 }, fc.constantFrom<any>('closed', 'OPEN', 1));
  const cuda = fc.oneof({ arbitrary: fc.constantFrom('12.4', '12.8', '13.0', '12.7', '11.8', '10.2', '13.5'), weight: 4 }, fc.tuple(fc.nat(20), fc.nat(12)).map(([a, b]) => `${a}.${b}`), junk);
  const accepted: [number, KernelModules, string][] = [];
  fc.assert(fc.property(branch, modules, cuda, (b, m, c) => {
    if (clearOrAccepted('NvidiaDriver/CudaToolkit', () => {
      const s = stack();
      new GpuNode(s, 'Node', {
        flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'),
        recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(b, m), cuda: CudaToolkit.version(c) }),
      });
    })) accepted.push([b, m, c]);
  }), options);
  expectValid(accepted, (s, [b, m, c], i) => new GpuNode(s, `Node${i}`, {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, `Net${i}`, 'alice'), nodeName: `n${i}`,
    recipe: new GpuRecipe({ name: `r${i}`, nvidiaDriver: NvidiaDriver.branch(b, m), cuda: CudaToolkit.version(c) }),
  }));
});

test('names and metadata: any text is refused clearly or written literally', () => {
  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('${file("x")}', '%{if true}y%{endif}', '__proto__', 'a\u007fb'));
  const key = fc.oneof({ arbitrary: fc.stringMatching(/^[a-zA-Z0-9_:. -]{1,12}$/), weight: 3 }, text);
  const accepted: [string, string, string][] = [];
  fc.assert(fc.property(text, key, text, (nodeName, key, value) => {
    if (clearOrAccepted('names/metadata', () => {
      const s = stack();
      new GpuNode(s, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'), nodeName, metadata: Object.fromEntries([[key, value]]) });
    })) accepted.push([nodeName, key, value]);
  }), options);
  const unique = accepted.filter(([n], i) => accepted.findIndex(([m]) => m === n) === i);
  const json = expectValid(unique, (s, [nodeName, key, value], i) => new GpuNode(s, `Node${i}`, {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, `Net${i}`, 'alice'), nodeName, metadata: Object.fromEntries([[key, value]]),
  }));
  const literal = (t: string) => t.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
  const servers = Object.values<any>(json.resource.openstack_compute_instance_v2);
  for (const [nodeName, key, value] of unique.slice(0, CHECKED_PER_PROPERTY)) {
    const server = servers.find((v) => v.name === literal(nodeName));
    expect(server).toBeDefined();
    expect(server.metadata[key]).toBe(literal(value));
  }
});

test('recipe file paths: the library\'s own files cannot be reached by any spelling', () => {
  const segment = fc.constantFrom('', '.', '..', 'etc', 'opt', 'gpu-node', 'bin', 'recipe.env', 'app', 'config..bak', 'a b');
  const filePath = fc.tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 5 })).map(([abs, parts]) => `${abs ? '/' : ''}${parts.join('/')}`);
  const accepted: string[] = [];
  fc.assert(fc.property(filePath, (p) => {
    if (clearOrAccepted('recipe paths', () => new GpuRecipe({ files: [{ path: p, content: 'x' }] }))) {
      const segments = p.split('/').filter((s) => s !== '' && s !== '.');
      const normal = `/${segments.join('/')}/`;
      expect(normal.startsWith('/etc/gpu-node/') || normal.startsWith('/opt/gpu-node/')).toBe(false);
      expect(segments).not.toContain('..');
      accepted.push(p);
    }
  }), options);
  const unique = [...new Set(accepted.map((p) => `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`))];
  if (unique.length > 0) {
    expectValid([unique], (s, paths) => new GpuNode(s, 'Node', {
      flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(s, 'Net', 'alice'),
      recipe: new GpuRecipe({ name: 'paths', files: paths.map((p) => ({ path: p, content: 'x' })) }),
    }));
  }
});

test('tokens pass where the README says they may', () => {
  const { dir } = synthToDir((app: App) => {
    const s = stack(app);
    const defaults: { [name: string]: string | number } = {
      cidr4: '10.0.0.0/8', cidr6: '2001:db8::/32', sgid: '0b5c2f4a-1111-4222-8333-444455556666', from: 8000, to: 8010, flavor: 'g1-1x2080.medium',
      user: 'alice', power: 'active', group: '0b5c2f4a-1111-4222-8333-444455556667', name: 'tok', zone: 'nova', team: 'ml', ip: '10.0.0.5',
    };
    const v = (name: string, type = 'string') => new TerraformVariable(s, name, { type, default: defaults[name] });
    const sg = new SecurityGroup(s, 'Sg', {
      sshFrom: [Peer.ipv4(v('cidr4').stringValue), Peer.ipv6(v('cidr6').stringValue), Peer.securityGroup({ securityGroupId: v('sgid').stringValue, securityGroupName: 'x' })],
      ingress: [{ port: Port.tcpRange(v('from', 'number').numberValue, v('to', 'number').numberValue), peers: [Peer.ipv4('10.0.0.0/8')] }],
    });
    new GpuNode(s, 'Node', {
      flavor: GpuFlavor.named(v('flavor').stringValue, { gpuCount: 1 }), network: GpuNetwork.forUser(s, 'Net', v('user').stringValue),
      securityGroups: [sg], powerState: PowerState.of(v('power').stringValue), serverGroup: ServerGroup.fromId(s, 'Group', v('group').stringValue),
      nodeName: v('name').stringValue, availabilityZone: v('zone').stringValue, metadata: { team: v('team').stringValue }, fixedIpAddress: v('ip').stringValue,
    });
    return s;
  });
  expectStackPassesChecks(withQuotaInDir(dir));
});

afterAll(() => {
  const total = Object.values(runs).reduce((n, r) => n + r.accepted + r.refused, 0);
  console.log(`property-based runs: ${total} (${RUNS_PER_PROPERTY} per property, seed ${SEED}): ${JSON.stringify(runs)}`);
});
