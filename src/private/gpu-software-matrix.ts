// Which NVIDIA driver, CUDA toolkit, Ubuntu release and GPU architecture combinations can work,
// as data. `npm run docs:matrix` writes the README table from these same tables.

/**
 * Minimum driver branch per CUDA toolkit version (Linux x86_64), from NVIDIA's CUDA Toolkit
 * Release Notes, Table 3 "CUDA Toolkit and Corresponding Driver Versions"
 * (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html): the toolkit's own GA
 * driver (11.7: >= 515.43.04, 11.8: 520.61.05, 12.0 GA: >= 525.60.13, 12.1: 530.30.02, 12.2: 535.54.03, 12.3: 545.23.06,
 * 12.4: 550.54.14, 12.5: 555.42.02, 12.6: 560.28.03, 12.8: 570.26, 12.9: 575.51.03, 13.0: 580.65.06).
 * Minor-version compatibility would run some 12.x code on 525+, but not PTX JIT or newer features,
 * so a node pins at least the toolkit's branch. There is no CUDA 12.7.
 */
export const CUDA_MIN_DRIVER_BRANCH: { readonly [cuda: string]: number } = {
  '11.7': 515, '11.8': 520, '12.0': 525, '12.1': 530, '12.2': 535, '12.3': 545, '12.4': 550, '12.5': 555, '12.6': 560,
  '12.8': 570, '12.9': 575, '13.0': 580,
};

/**
 * CUDA toolkit versions NVIDIA's apt repository publishes per Ubuntu release
 * (https://developer.download.nvidia.com/compute/cuda/repos/<ubuntu2204|ubuntu2404>/x86_64/,
 * packages `cuda-toolkit-12-<minor>`; the ubuntu2404 repository starts with CUDA 12.5, whose
 * release notes first list Ubuntu 24.04 among the supported distributions).
 */
export const CUDA_BY_UBUNTU: { readonly [release: string]: readonly string[] } = {
  '22.04': ['11.7', '11.8', '12.0', '12.1', '12.2', '12.3', '12.4', '12.5', '12.6', '12.8', '12.9', '13.0'],
  '24.04': ['12.5', '12.6', '12.8', '12.9', '13.0'],
};

/**
 * Driver branches NVIDIA has released on Linux (production and new-feature branches,
 * https://docs.nvidia.com/datacenter/tesla/drivers/ "Supported Drivers and CUDA Toolkit Versions";
 * 590 new feature branch: NVIDIA's "Current graphics driver releases" forum post; 595, 620: the R620
 * tables, 610 new feature branch: the R615 tables, both in DRIVER_BRANCH_SUPPORT's sources; checked CATALOG_CHECKED).
 * A branch above the newest one listed is taken with a warning, as this table may be older than NVIDIA.
 */
export const DRIVER_BRANCHES: readonly number[] = [
  450, 455, 460, 465, 470, 495, 510, 515, 520, 525, 530, 535, 545, 550, 555, 560, 565, 570, 575, 580, 590, 595, 610, 620,
];

/** Per GPU architecture: the first driver branch that drives it, the last (if support ended), and the kernel modules. */
export interface ArchitectureSupport {
  readonly minBranch: number;
  readonly maxBranch?: number;
  /** The last CUDA major version that supports it, if a later one dropped it. */
  readonly lastCudaMajor?: number;
  readonly modules: 'proprietary' | 'open or proprietary' | 'open';
}

/**
 * The date the NVIDIA rows here were last checked against NVIDIA's pages (shown in the README).
 * Driver branch support (https://docs.nvidia.com/datacenter/tesla/drivers/620/supported-drivers-and-cuda-toolkit-versions.html,
 * Table 2): R580 long-term support to June 2028, R595 production to March 2027, R620 long-term support to
 * September 2029. Architectures (https://docs.nvidia.com/datacenter/tesla/drivers/cuda-toolkit-driver-and-architecture-matrix.html):
 * Maxwell, Pascal and Volta: last CUDA 12.x, last driver R580.
 */
export const CATALOG_CHECKED = '2026-12-07';

/** Driver branches with NVIDIA's support designation and end of life (data center support tables, link above). */
export const DRIVER_BRANCH_SUPPORT: { readonly [branch: number]: { readonly designation: string; readonly endOfLife: string } } = {
  580: { designation: 'long-term support', endOfLife: '2028-06' },
  595: { designation: 'production', endOfLife: '2027-03' },
  620: { designation: 'long-term support', endOfLife: '2029-09' },
};

/**
 * From NVIDIA's driver release notes: Ada needs 525 (first production branch with L4/L40), Hopper
 * 525 (520 was a new-feature branch; 525 the first production one for H100), Blackwell 570 and
 * the open kernel modules only (R570 release notes); Maxwell, Pascal and Volta are driven by
 * proprietary modules only, and R580 is their last branch (R580 release notes, "the last driver
 * branch to support Maxwell, Pascal and Volta"). Open modules need a GSP, Turing and newer.
 */
// Keyed by GpuArchitecture's values (plain strings: gpu-model.ts imports the checks that read this).
export const ARCHITECTURE_SUPPORT: { readonly [arch: string]: ArchitectureSupport } = {
  'Pascal': { minBranch: 450, maxBranch: 580, lastCudaMajor: 12, modules: 'proprietary' },
  'Volta': { minBranch: 450, maxBranch: 580, lastCudaMajor: 12, modules: 'proprietary' },
  'Turing': { minBranch: 450, modules: 'open or proprietary' },
  'Ampere': { minBranch: 450, modules: 'open or proprietary' },
  'Ada Lovelace': { minBranch: 525, modules: 'open or proprietary' },
  'Hopper': { minBranch: 525, modules: 'open or proprietary' },
  'Blackwell': { minBranch: 570, modules: 'open' },
};

/** The README table (between the `gpu-software-matrix` markers), written by `npm run docs:matrix`. */
export function matrixMarkdown(): string {
  const lines = [
    '| CUDA | Minimum driver branch | Ubuntu 22.04 | Ubuntu 24.04 |',
    '| --- | --- | --- | --- |',
    ...Object.entries(CUDA_MIN_DRIVER_BRANCH).map(([cuda, branch]) =>
      `| ${cuda} | ${branch} | ${CUDA_BY_UBUNTU['22.04'].includes(cuda) ? 'yes' : 'no'} | ${CUDA_BY_UBUNTU['24.04'].includes(cuda) ? 'yes' : 'no'} |`),
    '',
    '| GPU architecture | Driver branches | Last CUDA | Kernel modules |',
    '| --- | --- | --- | --- |',
    ...Object.entries(ARCHITECTURE_SUPPORT).map(([arch, s]) =>
      `| ${arch} | ${s.minBranch}${s.maxBranch ? `-${s.maxBranch}` : ' and newer'} | ${s.lastCudaMajor ? `${s.lastCudaMajor}.x` : 'current'} | ${s.modules} |`),
    '',
    `Known driver branches: ${DRIVER_BRANCHES.join(', ')} (a newer one is accepted with a warning). NVIDIA's support: ` +
      Object.entries(DRIVER_BRANCH_SUPPORT).map(([b, d]) => `R${b} ${d.designation} to ${d.endOfLife}`).join(', ') +
      `. Checked against NVIDIA's pages on ${CATALOG_CHECKED}.`,
  ];
  return lines.join('\n');
}

export const MATRIX_BEGIN = '<!-- gpu-software-matrix:begin (npm run docs:matrix) -->';
export const MATRIX_END = '<!-- gpu-software-matrix:end -->';
