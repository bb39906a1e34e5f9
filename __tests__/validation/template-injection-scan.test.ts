// Every construct with every string prop (and its construct id) set to a template-injection probe:
// no `${`/`%{` the user typed may reach the synthesized JSON unescaped, wherever the library writes
// it (arguments, descriptions, outputs and their keys, locals, pre/postcondition messages,
// provisioner environments). The probes carry a marker the library never writes, so its own
// intentional `${...}` references do not count.
import { App, TerraformStack } from 'cdktf';
import {
  GpuFleet, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KeyPair, NodeImage, NodeOutputs, openstack, Peer, Port,
  SecurityGroup, ServerGroup, SlurmCluster, SnapshotImage,
} from '../../src';
import { withQuotaInDir } from '../support/cloud-facts';
import { expectStackPassesChecks, synthToDir } from '../support/checks';

const MARK = 'zq7inj';
const INTERP = `\${file("no-such-file-${MARK}")}`;
const DIRECTIVE = `%{if true}${MARK}%{endif}`;
/** One probe with both forms, for props that take free text. */
const PROBE = `${INTERP}${DIRECTIVE}`;
/** For names that become ssh Host lines (no whitespace or quotes there). */
const NAME_PROBE = `n\${${MARK}}%{${MARK}}`;

/**
 * The probes in `text` that Terraform would evaluate: a probe's opening `{` with a single `$` or `%`
 * before it; two or more are the escape. (Construct ids carry the marker into the library's own
 * references, without braces, so only the probes' openings are looked for.)
 */
export function unescapedProbes(text: string): string[] {
  const found: string[] = [];
  for (const opening of [`{file("no-such-file-${MARK}")}`, `{if true}${MARK}`, `{${MARK}}`]) {
    for (let i = text.indexOf(opening); i >= 0; i = text.indexOf(opening, i + 1)) {
      const sigil = text[i - 1];
      if (sigil !== '$' && sigil !== '%') continue;
      let run = 0;
      while (i - run - 1 >= 0 && text[i - run - 1] === sigil) run++;
      if (run === 1) found.push(text.slice(Math.max(0, i - 30), i + opening.length));
    }
  }
  return found;
}

/**
 * Every string (and object key) of the JSON, with its location; but not `//` properties, which
 * Terraform's JSON syntax reads as comments (cdktf's construct-path metadata).
 */
function strings(value: unknown, where: string, out: [string, string][]): [string, string][] {
  if (where.endsWith('.//')) return out;
  if (typeof value === 'string') out.push([where, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${where}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([`${where} (key)`, k]);
      strings(v, `${where}.${k}`, out);
    }
  }
  return out;
}

function build(app: App): TerraformStack {
  const s = new TerraformStack(app, 'inject');
  new openstack.provider.OpenstackProvider(s, 'openstack', { cloud: 'openstack' });
  const id = (name: string) => `${name}${PROBE}`;
  const key = KeyPair.fromName(s, id('Key'), `alice`, { privateKeyHint: `~/.ssh/${PROBE}` });
  const ownKey = new KeyPair(s, id('OwnKey'), { keyPairName: 'own', privateKeyHint: `~/.ssh/own-${PROBE}` });
  const net = new GpuNetwork(s, id('Net'), { networkName: `net${PROBE}`, sshFrom: [Peer.ipv4('10.0.0.0/8')] });
  const other = SecurityGroup.fromName(s, id('Other'), `other${PROBE}`);
  const sg = new SecurityGroup(s, id('Sg'), {
    securityGroupName: `sg${PROBE}`, description: `desc ${PROBE}`,
    sshFrom: [Peer.securityGroup(other)], ingress: [{ port: Port.tcp(8888), peers: [Peer.securityGroup(other)] }],
  });
  sg.allowAllFrom(Peer.securityGroup(other));
  sg.addIcmp(Peer.securityGroup(other));
  const group = new ServerGroup(s, id('Group'), { serverGroupName: `sg${PROBE}` });
  const recipe = new GpuRecipe({
    name: 'inj', commands: [`echo '${PROBE}'`], files: [{ path: '/etc/app/inj.txt', content: PROBE }],
  });
  new GpuNode(s, id('Node'), {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: net, securityGroups: [sg], keyPair: key, serverGroup: group,
    nodeName: `node${PROBE}`, metadata: { team: PROBE }, tags: [`tag${PROBE}`], availabilityZone: `zone${INTERP}`,
    image: NodeImage.fromName(`Ubuntu 22.04 ${PROBE}`), recipe, rolloutToken: PROBE, waitForReady: true,
    dataVolume: { sizeGiB: 1, volumeName: `vol${PROBE}`, volumeType: `type${INTERP}` }, rootVolumeSizeGiB: 50,
  });
  new GpuNode(s, id('MapNode'), {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.fromName(s, id('Existing'), `ex${PROBE}`, { subnetName: `sub${PROBE}` }),
    keyPair: ownKey, nodeName: `map${PROBE}`, outputs: NodeOutputs.STACK_MAP, sshFrom: [Peer.securityGroup(sg)],
  });
  new GpuFleet(s, id('Fleet'), {
    flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), network: GpuNetwork.forUser(s, id('User'), 'alice'), keyPair: key,
    fleetName: `fleet${NAME_PROBE}`, nodeNames: [`a${NAME_PROBE}`, `b${NAME_PROBE}`], metadata: { team: PROBE },
    sshFrom: [Peer.securityGroup(other)], ingress: [{ port: Port.JUPYTER }],
  });
  new SlurmCluster(s, id('Slurm'), {
    clusterName: 'lab', keyPair: key, network: GpuNetwork.forUser(s, id('User2'), 'bob'),
    workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }], recipe,
  });
  new SlurmCluster(s, id('Slurm2'), {
    clusterName: 'lab2', keyPair: key, workerGroups: [{ partition: 'gpu', flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 2), count: 1 }],
  });
  new SnapshotImage(s, id('Image'), {
    recipe: new GpuRecipe({ name: 'bake' }), flavor: GpuFlavor.of(GpuModel.RTX_2060_SUPER, 1), network: GpuNetwork.forUser(s, id('User3'), 'carol'),
    baseImage: NodeImage.fromName(`Ubuntu 22.04 base ${PROBE}`), imageName: `img${PROBE}`, tags: [`itag${INTERP}`], keyPair: key,
  });
  return s;
}

describe('template injection through any user string', () => {
  const { dir, json } = synthToDir(build);
  const all = strings(json, '', []);

  test('the probes reach the JSON (the scan looks at something)', () => {
    const carrying = all.filter(([, v]) => v.includes(MARK));
    console.log(`strings carrying the probe: ${carrying.length}`);
    // Outputs, rule descriptions, preflight messages, locals (user_data), map keys at least.
    for (const where of ['.output.', '.resource.openstack_networking_secgroup_rule_v2.', '.locals.', '.data.openstack_compute_flavor_v2.']) {
      expect(carrying.some(([w]) => w.startsWith(where))).toBe(true);
    }
  });

  test('no probe is left for Terraform to evaluate', () => {
    const bad = all.flatMap(([where, v]) => unescapedProbes(v).map((hit) => `${where}: ...${hit}`));
    expect(bad).toEqual([]);
  });

  test('the shared validator and a real terraform plan accept the stack: Terraform reads no file and evaluates no directive', () => {
    expectStackPassesChecks(withQuotaInDir(dir));
  });

  test('the scanner itself finds an unescaped probe', () => {
    expect(unescapedProbes(`x ${INTERP}`)).toHaveLength(1);
    expect(unescapedProbes(`x $${INTERP}`)).toHaveLength(0);
    expect(unescapedProbes(`x ${DIRECTIVE}`)).toHaveLength(1);
    expect(unescapedProbes(`x ${DIRECTIVE.replace(/%\{/g, '%%{')}`)).toHaveLength(0);
    expect(unescapedProbes(`Host ${NAME_PROBE}`)).toHaveLength(2);
    expect(unescapedProbes(`Host ${NAME_PROBE.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{')}`)).toHaveLength(0);
    // The library's own reference next to the user's text is not the user's.
    expect(unescapedProbes(`\${var.x}${MARK}`)).toHaveLength(0);
  });
});
