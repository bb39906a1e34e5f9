// The NVIDIA catalog, as data: driver branches, CUDA versions, GPU architectures and the Ubuntu
// releases NVIDIA's CUDA apt repository serves, each row with the NVIDIA source it was checked
// against on CATALOG_CHECKED. The checks (recipe-rules.ts, gpu-model.ts, node-image.ts) and the
// README table (`npm run docs:matrix`) read these tables only; nothing else encodes these facts.
import { nodeContract } from '../core/node-contract';

/** The date every row here was last checked against its source (shown in the README). */
export const CATALOG_CHECKED = '2026-12-07';

/** NVIDIA's pages the rows cite. */
export const SOURCES = {
  /** CUDA Toolkit Release Notes, Table 3 "CUDA Toolkit and Corresponding Driver Versions". */
  cudaDriverTable: 'https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html (Table 3)',
  /** The same table as quoted for 13.1-13.3 in public driver-floor tables (NVIDIA's page answered only in excerpts on CATALOG_CHECKED). */
  cudaDriverTable13x: 'https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html (Table 3, rows CUDA 13.1 GA 590.44.01, 13.2 GA 595.45.04, 13.3 GA 610.43.02)',
  /** Data center driver support tables. */
  driverSupport: 'https://docs.nvidia.com/datacenter/tesla/drivers/620/supported-drivers-and-cuda-toolkit-versions.html (Table 2)',
  /** CUDA toolkit, driver and architecture matrix. */
  architectureMatrix: 'https://docs.nvidia.com/datacenter/tesla/drivers/cuda-toolkit-driver-and-architecture-matrix.html',
  /** CUDA 13.0 release notes, "Deprecated Architectures": offline compilation for sm_50-sm_72 removed. */
  cuda13Architectures: 'https://docs.nvidia.com/cuda/archive/13.0.0/cuda-toolkit-release-notes/index.html (Deprecated Architectures)',
  /** NVIDIA's CUDA apt repository index per Ubuntu release. */
  aptRepo: (distro: string) => `https://developer.download.nvidia.com/compute/cuda/repos/${distro}/x86_64/`,
} as const;

/** One CUDA toolkit minor version. */
export interface CudaRelease {
  /** `major.minor`, the package `cuda-toolkit-<major>-<minor>`. */
  readonly cuda: string;
  /** The GA toolkit's own driver (Table 3), Linux x86_64. */
  readonly gaDriver: string;
  /** The driver branch a node pins at least (the GA driver's branch). */
  readonly minBranch: number;
  readonly source: string;
}

/**
 * CUDA versions with their minimum driver (Linux x86_64). Minor-version compatibility would run some
 * 12.x code on 525+ (13.x on 580+), but not PTX JIT or newer features, so a node pins at least the
 * toolkit's own branch. There is no CUDA 12.7. CUDA 13.4 (R615, its driver version not verified)
 * and 13.5 (not found) are not listed: they are taken with a "newer than this library knows" warning.
 */
export const CUDA_RELEASES: readonly CudaRelease[] = [
  { cuda: '11.7', gaDriver: '515.43.04', minBranch: 515, source: SOURCES.cudaDriverTable },
  { cuda: '11.8', gaDriver: '520.61.05', minBranch: 520, source: SOURCES.cudaDriverTable },
  { cuda: '12.0', gaDriver: '525.60.13', minBranch: 525, source: SOURCES.cudaDriverTable },
  { cuda: '12.1', gaDriver: '530.30.02', minBranch: 530, source: SOURCES.cudaDriverTable },
  { cuda: '12.2', gaDriver: '535.54.03', minBranch: 535, source: SOURCES.cudaDriverTable },
  { cuda: '12.3', gaDriver: '545.23.06', minBranch: 545, source: SOURCES.cudaDriverTable },
  { cuda: '12.4', gaDriver: '550.54.14', minBranch: 550, source: SOURCES.cudaDriverTable },
  { cuda: '12.5', gaDriver: '555.42.02', minBranch: 555, source: SOURCES.cudaDriverTable },
  { cuda: '12.6', gaDriver: '560.28.03', minBranch: 560, source: SOURCES.cudaDriverTable },
  { cuda: '12.8', gaDriver: '570.26', minBranch: 570, source: SOURCES.cudaDriverTable },
  { cuda: '12.9', gaDriver: '575.51.03', minBranch: 575, source: SOURCES.cudaDriverTable },
  { cuda: '13.0', gaDriver: '580.65.06', minBranch: 580, source: SOURCES.cudaDriverTable },
  { cuda: '13.1', gaDriver: '590.44.01', minBranch: 590, source: SOURCES.cudaDriverTable13x },
  { cuda: '13.2', gaDriver: '595.45.04', minBranch: 595, source: SOURCES.cudaDriverTable13x },
  { cuda: '13.3', gaDriver: '610.43.02', minBranch: 610, source: SOURCES.cudaDriverTable13x },
];

/** Minimum driver branch per CUDA version (from CUDA_RELEASES). */
export const CUDA_MIN_DRIVER_BRANCH: { readonly [cuda: string]: number } =
  Object.freeze(Object.fromEntries(CUDA_RELEASES.map((r) => [r.cuda, r.minBranch])));

/** An Ubuntu release and what NVIDIA's CUDA apt repository serves for it. */
export interface UbuntuRepo {
  /** `VERSION_ID`, e.g. `24.04`. */
  readonly release: string;
  /** The repository directory, e.g. `ubuntu2404`. */
  readonly distro: string;
  /** CUDA versions (`cuda-toolkit-<major>-<minor>`) seen in it; empty when the release is not supported. */
  readonly cuda: readonly string[];
  /** Why a release is not supported (a synth-time error says this). */
  readonly unsupported?: string;
  readonly source: string;
}

/**
 * Ubuntu releases and the CUDA versions NVIDIA's apt repository has for them. The ubuntu2404
 * repository starts with CUDA 12.5 (whose release notes first list 24.04). CUDA 13.1-13.3 are listed
 * where their packages were seen in the repository (install scripts that use them, CATALOG_CHECKED);
 * a version not listed for a release is refused at synth, so a row is added only once it is seen.
 */
export const UBUNTU_REPOS: readonly UbuntuRepo[] = [
  {
    release: '22.04', distro: 'ubuntu2204', source: SOURCES.aptRepo('ubuntu2204'),
    cuda: ['11.7', '11.8', '12.0', '12.1', '12.2', '12.3', '12.4', '12.5', '12.6', '12.8', '12.9', '13.0', '13.2'],
  },
  {
    release: '24.04', distro: 'ubuntu2404', source: SOURCES.aptRepo('ubuntu2404'),
    cuda: ['12.5', '12.6', '12.8', '12.9', '13.0', '13.1', '13.2', '13.3'],
  },
  {
    release: '26.04', distro: 'ubuntu2604', source: SOURCES.aptRepo('ubuntu2604'), cuda: [],
    unsupported: `whether NVIDIA's CUDA repository serves ubuntu2604, and with which CUDA versions, could not be verified ` +
      `against NVIDIA's own pages on ${CATALOG_CHECKED} (public scripts disagree), so this library does not install on it yet`,
  },
];

/**
 * CUDA versions per supported Ubuntu release: the releases the node's scripts install on
 * (GPU_NODE_UBUNTU_RELEASES in the contract, declared once there), each with its UBUNTU_REPOS row.
 */
export const CUDA_BY_UBUNTU: { readonly [release: string]: readonly string[] } = Object.freeze(Object.fromEntries(
  nodeContract().ubuntuReleases.map((release) => {
    const repo = UBUNTU_REPOS.find((u) => u.release === release && !u.unsupported);
    if (!repo) throw new Error(`GPU_NODE_UBUNTU_RELEASES names Ubuntu ${release}, which the NVIDIA catalog has no supported repository row for`);
    return [release, repo.cuda];
  })));

/** The Ubuntu release a cloud image name says (`22.04`, `noble`, ...), or undefined. */
export function ubuntuReleaseOfName(name: string): string | undefined {
  const codeNames: { [release: string]: string } = { '22.04': 'jammy', '24.04': 'noble', '26.04': 'resolute' };
  return UBUNTU_REPOS.map((u) => u.release).find((r) => name.includes(r) || new RegExp(codeNames[r] ?? '^$', 'i').test(name));
}

/**
 * Driver branches NVIDIA has released on Linux (production and new-feature branches, data center
 * support tables; 590 new feature branch: NVIDIA's "Current graphics driver releases"; 595, 620:
 * the R620 tables; 610: the R615 tables). A branch above the newest is taken with a warning.
 */
export const DRIVER_BRANCHES: readonly number[] = [
  450, 455, 460, 465, 470, 495, 510, 515, 520, 525, 530, 535, 545, 550, 555, 560, 565, 570, 575, 580, 590, 595, 610, 620,
];

/** Driver branches with NVIDIA's support designation and end of life. */
export const DRIVER_BRANCH_SUPPORT: { readonly [branch: number]: { readonly designation: string; readonly endOfLife: string; readonly source: string } } = {
  580: { designation: 'long-term support', endOfLife: '2028-06', source: SOURCES.driverSupport },
  595: { designation: 'production', endOfLife: '2027-03', source: SOURCES.driverSupport },
  620: { designation: 'long-term support', endOfLife: '2029-09', source: SOURCES.driverSupport },
};

/** Per GPU architecture: the driver branches, the last CUDA, the kernel modules and the compute capabilities. */
export interface ArchitectureSupport {
  readonly minBranch: number;
  /** The last driver branch, if support ended. */
  readonly maxBranch?: number;
  /** The last CUDA major version that supports it, if a later one dropped it. */
  readonly lastCudaMajor?: number;
  readonly modules: 'proprietary' | 'open or proprietary' | 'open';
  /** Its compute capabilities: a GpuModel's must be one of them, and gpu-burn is built for it. */
  readonly computeCapabilities: readonly string[];
  readonly source: string;
}

/**
 * From NVIDIA's driver release notes and architecture matrix: Ada needs 525 (first production branch
 * with L4/L40), Hopper 525, Blackwell 570 and the open kernel modules only (R570 release notes);
 * Maxwell, Pascal and Volta are driven by proprietary modules only, R580 is their last branch (R580
 * release notes) and CUDA 12.x their last CUDA (CUDA 13.0 removed offline compilation for sm_50-sm_72).
 * Open modules need a GSP, Turing and newer. Compute capabilities: NVIDIA's CUDA GPUs list
 * (developer.nvidia.com/cuda-gpus); Blackwell's 11.0 is Thor's from CUDA 13.0 on (10.1 before).
 */
// Keyed by GpuArchitecture's values (plain strings: gpu-model.ts imports the checks that read this).
export const ARCHITECTURE_SUPPORT: { readonly [arch: string]: ArchitectureSupport } = {
  'Maxwell': { minBranch: 450, maxBranch: 580, lastCudaMajor: 12, modules: 'proprietary', computeCapabilities: ['5.0', '5.2', '5.3'], source: SOURCES.architectureMatrix },
  'Pascal': { minBranch: 450, maxBranch: 580, lastCudaMajor: 12, modules: 'proprietary', computeCapabilities: ['6.0', '6.1', '6.2'], source: SOURCES.architectureMatrix },
  'Volta': { minBranch: 450, maxBranch: 580, lastCudaMajor: 12, modules: 'proprietary', computeCapabilities: ['7.0', '7.2'], source: SOURCES.architectureMatrix },
  'Turing': { minBranch: 450, modules: 'open or proprietary', computeCapabilities: ['7.5'], source: SOURCES.architectureMatrix },
  'Ampere': { minBranch: 450, modules: 'open or proprietary', computeCapabilities: ['8.0', '8.6', '8.7'], source: SOURCES.architectureMatrix },
  'Ada Lovelace': { minBranch: 525, modules: 'open or proprietary', computeCapabilities: ['8.9'], source: SOURCES.architectureMatrix },
  'Hopper': { minBranch: 525, modules: 'open or proprietary', computeCapabilities: ['9.0'], source: SOURCES.architectureMatrix },
  'Blackwell': { minBranch: 570, modules: 'open', computeCapabilities: ['10.0', '10.3', '11.0', '12.0', '12.1'], source: SOURCES.architectureMatrix },
};

/**
 * The compute capability gpu-burn is built for (`COMPUTE=<major><minor>`): the model's, which the
 * catalog vouches for (GpuModel refuses one its architecture does not have); '' builds gpu-burn's default.
 */
export function burnComputeCapability(model: { readonly architecture: string; readonly computeCapability: string } | undefined): string {
  if (!model) return '';
  const support = ARCHITECTURE_SUPPORT[model.architecture];
  if (!support || !support.computeCapabilities.includes(model.computeCapability)) {
    throw new Error(`GpuModel ${model.architecture}: compute capability ${model.computeCapability} is not in the catalog`);
  }
  return model.computeCapability;
}

/** The README table (between the `gpu-software-matrix` markers), written by `npm run docs:matrix`. */
export function matrixMarkdown(): string {
  const repos = UBUNTU_REPOS.filter((u) => !u.unsupported);
  const lines = [
    `| CUDA | Minimum driver (GA) | ${repos.map((u) => `Ubuntu ${u.release}`).join(' | ')} |`,
    `| --- | --- | ${repos.map(() => '---').join(' | ')} |`,
    ...CUDA_RELEASES.map((r) =>
      `| ${r.cuda} | ${r.minBranch} (${r.gaDriver}) | ${repos.map((u) => (u.cuda.includes(r.cuda) ? 'yes' : 'no')).join(' | ')} |`),
    '',
    '| GPU architecture | Driver branches | Last CUDA | Kernel modules | Compute capabilities |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(ARCHITECTURE_SUPPORT).map(([arch, s]) =>
      `| ${arch} | ${s.minBranch}${s.maxBranch ? `-${s.maxBranch}` : ' and newer'} | ${s.lastCudaMajor ? `${s.lastCudaMajor}.x` : 'current'} | ${s.modules} | ${s.computeCapabilities.join(', ')} |`),
    '',
    `Known driver branches: ${DRIVER_BRANCHES.join(', ')} (a newer one is accepted with a warning). NVIDIA's support: ` +
      Object.entries(DRIVER_BRANCH_SUPPORT).map(([b, d]) => `R${b} ${d.designation} to ${d.endOfLife}`).join(', ') + '. ' +
      UBUNTU_REPOS.filter((u) => u.unsupported).map((u) => `Ubuntu ${u.release} is not supported: ${u.unsupported}.`).join(' ') +
      ` Checked against NVIDIA's pages on ${CATALOG_CHECKED}.`,
    '',
    'Sources: ' + [...new Set([...CUDA_RELEASES.map((r) => r.source), ...UBUNTU_REPOS.map((u) => u.source),
      ...Object.values(DRIVER_BRANCH_SUPPORT).map((d) => d.source), ...Object.values(ARCHITECTURE_SUPPORT).map((a) => a.source), SOURCES.cuda13Architectures])]
      .map((s) => `<${s.split(' ')[0]}>${s.includes(' ') ? ` ${s.slice(s.indexOf(' ') + 1)}` : ''}`).join('; ') + '.',
  ];
  return lines.join('\n');
}

export const MATRIX_BEGIN = '<!-- gpu-software-matrix:begin (npm run docs:matrix) -->';
export const MATRIX_END = '<!-- gpu-software-matrix:end -->';
