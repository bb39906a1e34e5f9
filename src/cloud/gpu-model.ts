import { ARCHITECTURE_SUPPORT } from './gpu-software-matrix';
import { validateGpuModel } from './cloud-validation';

/**
 * NVIDIA GPU architectures, as far as the driver cares.
 */
export enum GpuArchitecture {
  /** Pascal (compute capability 6.x), e.g. P100. */
  PASCAL = 'Pascal',
  /** Volta (7.0), e.g. V100. */
  VOLTA = 'Volta',
  /** Turing (7.5), e.g. T4, RTX 2060 SUPER, RTX 2080 Ti. */
  TURING = 'Turing',
  /** Ampere (8.0, 8.6), e.g. A100, A10. */
  AMPERE = 'Ampere',
  /** Ada Lovelace (8.9), e.g. L4, L40S. */
  ADA_LOVELACE = 'Ada Lovelace',
  /** Hopper (9.0), e.g. H100. */
  HOPPER = 'Hopper',
  /** Blackwell (10.0, 12.0); needs the open kernel modules. */
  BLACKWELL = 'Blackwell',
  /** Maxwell (5.x), e.g. Tesla M60; proprietary modules only, last CUDA 12.x, last driver R580. */
  MAXWELL = 'Maxwell',
}

/** Properties of a GPU model that is not in the built-in list. */
export interface GpuModelProps {
  /** Short identifier used in errors and tags, e.g. `RTX_2080_TI`. */
  readonly id: string;
  /** The name `nvidia-smi` reports, e.g. `NVIDIA GeForce RTX 2080 Ti`. */
  readonly productName: string;
  /** The GPU's architecture: decides the driver's kernel modules and the oldest branch that supports it. */
  readonly architecture: GpuArchitecture;
  /** GPU memory in GiB. */
  readonly memoryGiB: number;
  /** CUDA compute capability, e.g. `7.5`. */
  readonly computeCapability: string;
  /**
   * Whether this is a data center GPU (Tesla, A100, H100, ...), not a GeForce or workstation card.
   * Open kernel modules before 545 drive only data center GPUs.
   * @default false
   */
  readonly dataCenter?: boolean;
  /**
   * The text the readiness check looks for in each GPU name that `nvidia-smi` lists.
   * @default - the product name without the words NVIDIA, Tesla and GeForce
   */
  readonly nvidiaSmiMatch?: string;
  /**
   * Whether the board's GPUs are joined by NVSwitch (HGX/DGX A100 and H100 8-GPU SXM boards). A node
   * with more than one of them then runs NVIDIA Fabric Manager, which must be active before CUDA
   * works (full passthrough of GPUs and NVSwitches, as the guest needs it then).
   * @default false
   */
  readonly nvSwitch?: boolean;
}

// The open kernel modules need a GSP, which NVIDIA ships from Turing on.
const OPEN_MODULE_ARCHITECTURES = new Set<GpuArchitecture>([
  GpuArchitecture.TURING,
  GpuArchitecture.AMPERE,
  GpuArchitecture.ADA_LOVELACE,
  GpuArchitecture.HOPPER,
  GpuArchitecture.BLACKWELL,
]);
// Blackwell works only with the open kernel modules.
const OPEN_MODULES_ONLY = new Set<GpuArchitecture>([GpuArchitecture.BLACKWELL]);

/**
 * A GPU model. Use the constants, or `GpuModel.custom()` for any other card.
 */
export class GpuModel {
  /** GeForce RTX 2060 SUPER, 8 GiB (HFD NetLab `g1-<n>x2060.medium`). */
  public static readonly RTX_2060_SUPER = new GpuModel({
    id: 'RTX_2060_SUPER', productName: 'NVIDIA GeForce RTX 2060 SUPER', architecture: GpuArchitecture.TURING,
    memoryGiB: 8, computeCapability: '7.5',
  });
  /** GeForce RTX 2080 Ti, 11 GiB (HFD NetLab `g1-<n>x2080.medium`). */
  public static readonly RTX_2080_TI = new GpuModel({
    id: 'RTX_2080_TI', productName: 'NVIDIA GeForce RTX 2080 Ti', architecture: GpuArchitecture.TURING,
    memoryGiB: 11, computeCapability: '7.5',
  });
  /** Tesla V100, 32 GiB. */
  public static readonly V100 = new GpuModel({
    id: 'V100', productName: 'Tesla V100', architecture: GpuArchitecture.VOLTA, memoryGiB: 32, computeCapability: '7.0', dataCenter: true,
  });
  /** Tesla T4, 16 GiB. */
  public static readonly T4 = new GpuModel({
    id: 'T4', productName: 'Tesla T4', architecture: GpuArchitecture.TURING, memoryGiB: 16, computeCapability: '7.5', dataCenter: true,
  });
  /** A100, 40 GiB. */
  public static readonly A100_40GB = new GpuModel({
    id: 'A100_40GB', productName: 'NVIDIA A100', architecture: GpuArchitecture.AMPERE, memoryGiB: 40, computeCapability: '8.0', dataCenter: true,
    // PCIe and SXM boards report 'NVIDIA A100-PCIE-40GB' / 'NVIDIA A100-SXM4-40GB'.
    nvidiaSmiMatch: 'A100',
  });
  /** A100, 80 GiB. */
  public static readonly A100_80GB = new GpuModel({
    id: 'A100_80GB', productName: 'NVIDIA A100 80GB', architecture: GpuArchitecture.AMPERE, memoryGiB: 80, computeCapability: '8.0', dataCenter: true,
    // 'NVIDIA A100 80GB PCIe' or 'NVIDIA A100-SXM4-80GB'.
    nvidiaSmiMatch: 'A100',
  });
  /** A10, 24 GiB. */
  public static readonly A10 = new GpuModel({
    id: 'A10', productName: 'NVIDIA A10', architecture: GpuArchitecture.AMPERE, memoryGiB: 24, computeCapability: '8.6', dataCenter: true,
  });
  /** L4, 24 GiB. */
  public static readonly L4 = new GpuModel({
    id: 'L4', productName: 'NVIDIA L4', architecture: GpuArchitecture.ADA_LOVELACE, memoryGiB: 24, computeCapability: '8.9', dataCenter: true,
  });
  /** L40S, 48 GiB. */
  public static readonly L40S = new GpuModel({
    id: 'L40S', productName: 'NVIDIA L40S', architecture: GpuArchitecture.ADA_LOVELACE, memoryGiB: 48, computeCapability: '8.9', dataCenter: true,
  });
  /** A100 SXM4 on an NVSwitch (HGX A100 8-GPU) board, 80 GiB: more than one per node runs Fabric Manager. */
  public static readonly A100_SXM4_80GB = new GpuModel({
    id: 'A100_SXM4_80GB', productName: 'NVIDIA A100-SXM4-80GB', architecture: GpuArchitecture.AMPERE, memoryGiB: 80,
    computeCapability: '8.0', dataCenter: true, nvSwitch: true,
  });
  /** H100 SXM5 on an NVSwitch (HGX H100 8-GPU) board, 80 GiB: more than one per node runs Fabric Manager. */
  public static readonly H100_SXM5 = new GpuModel({
    id: 'H100_SXM5', productName: 'NVIDIA H100 80GB HBM3', architecture: GpuArchitecture.HOPPER, memoryGiB: 80,
    computeCapability: '9.0', dataCenter: true, nvSwitch: true,
  });
  /** H100, 80 GiB. */
  public static readonly H100 = new GpuModel({
    id: 'H100', productName: 'NVIDIA H100', architecture: GpuArchitecture.HOPPER, memoryGiB: 80, computeCapability: '9.0', dataCenter: true,
  });

  /** A GPU model that is not built in. */
  public static custom(props: GpuModelProps): GpuModel {
    return new GpuModel(props);
  }

  /** A short identifier, used in names and image properties. */
  public readonly id: string;
  /** The product name; the readiness check matches the names `nvidia-smi` reports against it. */
  public readonly productName: string;
  /** The GPU's architecture. */
  public readonly architecture: GpuArchitecture;
  /** The GPU's memory in GiB. */
  public readonly memoryGiB: number;
  /** The CUDA compute capability, e.g. `7.5`; gpu-burn is built for it. */
  public readonly computeCapability: string;
  /** Whether it is a data-center GPU (these have no display output and allow persistence mode). */
  public readonly dataCenter: boolean;
  /** Whether the board joins its GPUs with NVSwitch: a node with more than one runs NVIDIA Fabric Manager. */
  public readonly nvSwitch: boolean;
  private readonly smiMatch?: string;

  private constructor(props: GpuModelProps) {
    validateGpuModel(props, GpuArchitecture);
    if (!/^[A-Za-z0-9_]+$/.test(props.id)) {
      throw new Error(`GpuModel: id must be letters, digits and '_', got '${props.id}'`);
    }
    if (!/^\d+\.\d+$/.test(props.computeCapability)) {
      throw new Error(`GpuModel ${props.id}: computeCapability must look like '7.5', got '${props.computeCapability}'`);
    }
    // gpu-burn is built for this capability: one the architecture does not have would not run (or not build).
    const known = ARCHITECTURE_SUPPORT[props.architecture].computeCapabilities;
    if (!known.includes(props.computeCapability)) {
      throw new Error(`GpuModel ${props.id}: computeCapability must be one of ${props.architecture}'s (${known.join(', ')}) in NVIDIA's catalog, ` +
        `got '${props.computeCapability}'; check the card's entry at developer.nvidia.com/cuda-gpus and its architecture`);
    }
    this.id = props.id;
    this.productName = props.productName;
    this.architecture = props.architecture;
    this.memoryGiB = props.memoryGiB;
    this.computeCapability = props.computeCapability;
    this.dataCenter = props.dataCenter ?? false;
    this.nvSwitch = props.nvSwitch ?? false;
    this.smiMatch = props.nvidiaSmiMatch;
  }

  /** Whether NVIDIA's open kernel modules drive this GPU. */
  public get supportsOpenKernelModules(): boolean {
    return OPEN_MODULE_ARCHITECTURES.has(this.architecture);
  }

  /** Whether this GPU needs NVIDIA's proprietary kernel modules. */
  public get requiresProprietaryKernelModules(): boolean {
    return !this.supportsOpenKernelModules;
  }

  /** Whether this GPU works only with the open kernel modules. */
  public get requiresOpenKernelModules(): boolean {
    return OPEN_MODULES_ONLY.has(this.architecture);
  }

  /**
   * The text to look for in each GPU name that `nvidia-smi` lists:
   * `NVIDIA GeForce RTX 2080 Ti` -> `RTX 2080 Ti`, as older drivers omit the vendor words.
   */
  public get nvidiaSmiMatch(): string {
    return this.smiMatch ?? this.productName.replace(/^(NVIDIA |Tesla )?(GeForce )?/, '');
  }

  /** The product name. */
  public toString(): string {
    return this.id;
  }
}
