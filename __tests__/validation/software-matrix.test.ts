// The GPU software matrix: README table generated from the data, and the warnings where the
// data cannot decide (unknown image release, branches or CUDA newer than the table).
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { CloudProfile, CudaToolkit, GpuArchitecture, GpuFlavor, GpuModel, GpuNetwork, GpuNode, GpuRecipe, KernelModules, NodeImage, NvidiaDriver, UbuntuRelease } from '../../src';
import { CUDA_BY_UBUNTU, CUDA_MIN_DRIVER_BRANCH, DRIVER_BRANCHES, MATRIX_BEGIN, MATRIX_END, matrixMarkdown } from '../../src/cloud/gpu-software-matrix';
import { PROJECT_ROOT } from '../support/checks';

test('the README table is the one the data gives (npm run docs:matrix)', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(MATRIX_BEGIN) + MATRIX_BEGIN.length, readme.indexOf(MATRIX_END)).trim();
  expect(block).toBe(matrixMarkdown());
});

test('the data is consistent: every CUDA per release has a driver minimum, every minimum is a released branch', () => {
  for (const versions of Object.values(CUDA_BY_UBUNTU)) {
    for (const v of versions) expect(CUDA_MIN_DRIVER_BRANCH[v]).toBeDefined();
  }
  for (const branch of Object.values(CUDA_MIN_DRIVER_BRANCH)) expect(DRIVER_BRANCHES).toContain(branch);
  expect(CUDA_BY_UBUNTU['24.04'][0]).toBe('12.5');
});

function nodeWarnings(props: { image?: any; recipe?: GpuRecipe }): string[] {
  const stack = new TerraformStack(Testing.app(), 't');
  const node = new GpuNode(stack, 'Node', { flavor: GpuFlavor.of(GpuModel.RTX_2080_TI, 1), network: GpuNetwork.forUser(stack, 'Net', 'a'), ...props });
  return node.node.metadata.filter((m) => /warn/i.test(m.type)).map((m) => String(m.data));
}

test.each([
  ['an image by id', NodeImage.fromId('0f0e0d0c-0b0a-0908-0706-050403020100')],
  ['a name without a release', NodeImage.fromName('gpu-base-image')],
])('%s gives a warning, not an error', (_what, image) => {
  expect(nodeWarnings({ image })).toEqual(expect.arrayContaining([expect.stringMatching(/t\/Node: the image's Ubuntu release is unknown.*CUDA 13\.0.*NodeImage\.ubuntu\(\)/)]));
});

test.each([
  ['the profile image', NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04)],
  ['a name with the release', NodeImage.fromName('Ubuntu 24.04 - Noble Numbat')],
  ['a name with the code name', NodeImage.fromName('noble-server-cloudimg')],
])('%s has a known release: no warning', (_what, image) => {
  expect(nodeWarnings({ image }).filter((w) => /release is unknown/.test(w))).toEqual([]);
});

test('a branch or CUDA newer than the table is taken with a warning', () => {
  const w = nodeWarnings({ recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(700), cuda: CudaToolkit.version('13.5') }) });
  expect(w).toEqual(expect.arrayContaining([
    expect.stringMatching(/driver branch 700 is newer than the newest this library knows \(620\)/),
    expect.stringMatching(/CUDA 13\.5 is newer than the newest this library knows \(13\.3\)/),
  ]));
});

test('every CUDA of a release synthesizes with its minimum branch', () => {
  for (const [release, versions] of Object.entries(CUDA_BY_UBUNTU)) {
    for (const v of versions) {
      const image = NodeImage.ubuntu(release as UbuntuRelease);
      const branch = Math.max(CUDA_MIN_DRIVER_BRANCH[v], 545);
      expect(() => nodeWarnings({ image, recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(branch), cuda: CudaToolkit.version(v) }) })).not.toThrow();
    }
  }
});

test('without bash on the synthesizing machine, a node says its commands were not syntax-checked', () => {
  const saved = process.env.PATH;
  let warned: string[] = [];
  jest.isolateModules(() => {
    process.env.PATH = '/nonexistent';
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const lib = require('../../src');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cdktf = require('cdktf');
      const stack = new cdktf.TerraformStack(cdktf.Testing.app(), 't');
      const node = new lib.GpuNode(stack, 'Node', {
        flavor: lib.GpuFlavor.of(lib.GpuModel.RTX_2080_TI, 1), network: lib.GpuNetwork.forUser(stack, 'Net', 'a'),
        recipe: new lib.GpuRecipe({ commands: ["echo 'unclosed"] }),
      });
      warned = node.node.metadata.filter((m: any) => /warn/i.test(m.type)).map((m: any) => String(m.data));
    } finally {
      process.env.PATH = saved;
    }
  });
  expect(warned).toEqual(expect.arrayContaining([expect.stringMatching(/t\/Node: the recipe's commands were not checked with 'bash -n', as bash is not on this machine/)]));
});

describe('the NVIDIA catalog (one table file, issue 20 item 5)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const catalog = require('../../src/cloud/gpu-software-matrix');

  test('every row cites its NVIDIA source, and the README shows the date it was checked', () => {
    for (const r of catalog.CUDA_RELEASES) expect(r.source).toMatch(/^https:\/\/docs\.nvidia\.com\//);
    for (const u of catalog.UBUNTU_REPOS) expect(u.source).toMatch(/^https:\/\/developer\.download\.nvidia\.com\/compute\/cuda\/repos\/ubuntu\d{4}\//);
    for (const a of Object.values<any>(catalog.ARCHITECTURE_SUPPORT)) expect(a.source).toMatch(/^https:\/\/docs\.nvidia\.com\//);
    for (const d of Object.values<any>(catalog.DRIVER_BRANCH_SUPPORT)) expect(d.source).toMatch(/^https:\/\/docs\.nvidia\.com\//);
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`Checked against NVIDIA's pages on ${catalog.CATALOG_CHECKED}`);
  });

  test('CUDA 13.1-13.3 with their GA drivers (Table 3) are known: no "newer than" warning, and each needs its branch', () => {
    expect(CUDA_MIN_DRIVER_BRANCH).toMatchObject({ '13.0': 580, '13.1': 590, '13.2': 595, '13.3': 610 });
    const image = NodeImage.ubuntu(UbuntuRelease.NOBLE_24_04);
    expect(nodeWarnings({ image, recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(595), cuda: CudaToolkit.version('13.2') }) })
      .filter((w) => /newer than/.test(w))).toEqual([]);
    expect(() => nodeWarnings({ image, recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.R580_OPEN, cuda: CudaToolkit.version('13.3') }) }))
      .toThrow(/driver branch 610 or newer for CUDA 13\.3/);
  });

  test.each([
    ['Maxwell', GpuArchitecture.MAXWELL, '5.2'],
    ['Pascal', GpuArchitecture.PASCAL, '6.1'],
    ['Volta', GpuArchitecture.VOLTA, '7.0'],
  ])('CUDA 13 on %s is a synth error naming the last CUDA (12.9)', (_name, architecture, computeCapability) => {
    const model = GpuModel.custom({ id: 'OLD', productName: 'NVIDIA Old', architecture, memoryGiB: 8, computeCapability, dataCenter: true });
    const stack = new TerraformStack(Testing.app(), 't');
    expect(() => new GpuNode(stack, 'Node', {
      flavor: GpuFlavor.named('g1-old', { model, gpuCount: 1 }), network: GpuNetwork.forUser(stack, 'Net', 'a'),
      recipe: new GpuRecipe({ nvidiaDriver: NvidiaDriver.branch(580, KernelModules.PROPRIETARY), cuda: CudaToolkit.version('13.0') }),
    })).toThrow(new RegExp(`t/Node: .*CUDA 12\\.x is the last that supports ${architecture}.*CudaToolkit\\.version\\('12\\.9'\\)`));
  });

  test("gpu-burn's compute capability follows the catalog: a model whose capability its architecture lacks is refused", () => {
    expect(() => GpuModel.custom({ id: 'X', productName: 'NVIDIA X', architecture: GpuArchitecture.TURING, memoryGiB: 8, computeCapability: '7.0' }))
      .toThrow(/GpuModel X: computeCapability must be one of Turing's \(7\.5\) in NVIDIA's catalog, got '7\.0'/);
    expect(catalog.burnComputeCapability(GpuModel.V100)).toBe('7.0');
    for (const [arch, s] of Object.entries<any>(catalog.ARCHITECTURE_SUPPORT)) {
      expect(Object.values(GpuArchitecture)).toContain(arch);
      expect(s.computeCapabilities.length).toBeGreaterThan(0);
    }
  });

  test('Ubuntu 26.04 is refused at synth, saying why', () => {
    expect(() => nodeWarnings({ image: NodeImage.fromName('Ubuntu 26.04 - Resolute Raccoon - 64-bit') }))
      .toThrow(/t\/Node: the image 'Ubuntu 26\.04 - Resolute Raccoon - 64-bit' is Ubuntu 26\.04: whether NVIDIA's CUDA repository serves ubuntu2604.*could not be verified.*2026-12-07.*NodeImage\.ubuntu\(UbuntuRelease\.NOBLE_24_04\)/);
  });
});

test("the default recipe is on a current long-term-support branch, with a CUDA that branch drives and NVIDIA's repository offers for every Ubuntu release of the default profile", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DRIVER_BRANCH_SUPPORT, CATALOG_CHECKED } = require('../../src/cloud/gpu-software-matrix');
  const recipe = new GpuRecipe();
  const branch = recipe.nvidiaDriver.branchNumber;
  expect(DRIVER_BRANCH_SUPPORT[branch]).toMatchObject({ designation: 'long-term support' });
  expect(DRIVER_BRANCH_SUPPORT[branch].endOfLife > CATALOG_CHECKED.slice(0, 7)).toBe(true);
  expect(recipe.nvidiaDriver.modules).toBe(KernelModules.OPEN);
  const cuda = recipe.cuda!.versionString;
  expect(CUDA_MIN_DRIVER_BRANCH[cuda]).toBeLessThanOrEqual(branch);
  expect(CloudProfile.HFD_NETLAB.ubuntuImages.length).toBeGreaterThan(0);
  for (const { release } of CloudProfile.HFD_NETLAB.ubuntuImages) expect(CUDA_BY_UBUNTU[release]).toContain(cuda);
});

test('the Ubuntu releases are declared once (the contract): the catalog, UbuntuRelease and the node scripts agree', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { nodeContract } = require('../../src/core/node-contract');
  const releases = nodeContract().ubuntuReleases;
  expect(Object.keys(CUDA_BY_UBUNTU)).toEqual(releases);
  expect(Object.values(UbuntuRelease)).toEqual(releases);
  expect(releases).not.toContain('26.04');
});
