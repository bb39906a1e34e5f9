import { GpuArchitecture, GpuModel, GpuModelProps } from '../../src';
import { ARCHITECTURE_SUPPORT } from '../../src/cloud/gpu-software-matrix';

/** A custom model with sensible defaults; override what a test is about. */
function custom(overrides: Partial<GpuModelProps> = {}): GpuModel {
  return GpuModel.custom({
    id: 'RTX_4090', productName: 'NVIDIA GeForce RTX 4090', architecture: GpuArchitecture.ADA_LOVELACE,
    memoryGiB: 24, computeCapability: '8.9', ...overrides,
  });
}

/** Every built-in model, read off the class's static properties. */
function builtIns(): GpuModel[] {
  return Object.values(GpuModel).filter((v): v is GpuModel => v instanceof GpuModel);
}

describe('built-in GPU models', () => {
  test('the HFD NetLab cards carry their nvidia-smi facts', () => {
    expect(GpuModel.RTX_2060_SUPER).toMatchObject({
      id: 'RTX_2060_SUPER', productName: 'NVIDIA GeForce RTX 2060 SUPER', architecture: GpuArchitecture.TURING,
      memoryGiB: 8, computeCapability: '7.5',
    });
    expect(GpuModel.RTX_2080_TI).toMatchObject({
      id: 'RTX_2080_TI', productName: 'NVIDIA GeForce RTX 2080 Ti', architecture: GpuArchitecture.TURING,
      memoryGiB: 11, computeCapability: '7.5',
    });
  });

  test('there are twelve of them, each with a unique id that names its constant', () => {
    const models = builtIns();
    expect(models).toHaveLength(12);
    expect(new Set(models.map((m) => m.id)).size).toBe(models.length);
    for (const [key, value] of Object.entries(GpuModel)) {
      if (value instanceof GpuModel) expect(value.id).toBe(key);
    }
  });

  test('every constant has a dotted compute capability and positive memory', () => {
    for (const m of builtIns()) {
      expect(m.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(m.memoryGiB).toBeGreaterThan(0);
    }
  });

  test('toString() is the id', () => {
    expect(String(GpuModel.V100)).toBe('V100');
    expect(`${GpuModel.RTX_2080_TI}`).toBe('RTX_2080_TI');
  });
});

describe('NVSwitch boards', () => {
  test('only the SXM models of NVSwitch (HGX 8-GPU) boards carry the flag; custom models may set it', () => {
    expect(builtIns().filter((m) => m.nvSwitch).map((m) => m.id).sort()).toEqual(['A100_SXM4_80GB', 'H100_SXM5']);
    expect(GpuModel.H100_SXM5).toMatchObject({ architecture: GpuArchitecture.HOPPER, computeCapability: '9.0', nvidiaSmiMatch: 'H100 80GB HBM3' });
    expect(GpuModel.A100_SXM4_80GB.nvidiaSmiMatch).toBe('A100-SXM4-80GB');
    expect(custom().nvSwitch).toBe(false);
    expect(custom({ nvSwitch: true }).nvSwitch).toBe(true);
  });
});

describe('kernel module facts', () => {
  test.each([
    ['RTX_2060_SUPER', GpuModel.RTX_2060_SUPER],
    ['RTX_2080_TI', GpuModel.RTX_2080_TI],
    ['T4', GpuModel.T4],
    ['A100_40GB', GpuModel.A100_40GB],
    ['L4', GpuModel.L4],
    ['H100', GpuModel.H100],
  ])('%s (Turing or later) supports the open modules and does not need the proprietary ones', (_id, model) => {
    expect(model.supportsOpenKernelModules).toBe(true);
    expect(model.requiresProprietaryKernelModules).toBe(false);
    expect(model.requiresOpenKernelModules).toBe(false);
  });

  test('V100 (Volta, no GSP) needs the proprietary modules', () => {
    expect(GpuModel.V100.architecture).toBe(GpuArchitecture.VOLTA);
    expect(GpuModel.V100.supportsOpenKernelModules).toBe(false);
    expect(GpuModel.V100.requiresProprietaryKernelModules).toBe(true);
    expect(GpuModel.V100.requiresOpenKernelModules).toBe(false);
  });

  test('a Pascal card needs the proprietary modules', () => {
    const p100 = custom({ id: 'P100', architecture: GpuArchitecture.PASCAL, computeCapability: '6.0' });
    expect(custom({ id: 'M60', architecture: GpuArchitecture.MAXWELL, computeCapability: '5.2' }).requiresProprietaryKernelModules).toBe(true);
    expect(p100.supportsOpenKernelModules).toBe(false);
    expect(p100.requiresProprietaryKernelModules).toBe(true);
  });

  test('a Blackwell card works only with the open modules', () => {
    const b200 = custom({ id: 'B200', architecture: GpuArchitecture.BLACKWELL, computeCapability: '10.0' });
    expect(b200.supportsOpenKernelModules).toBe(true);
    expect(b200.requiresOpenKernelModules).toBe(true);
    expect(b200.requiresProprietaryKernelModules).toBe(false);
  });

  test('no architecture both requires and cannot use the open modules', () => {
    for (const architecture of Object.values(GpuArchitecture)) {
      const m = custom({ architecture, computeCapability: ARCHITECTURE_SUPPORT[architecture].computeCapabilities[0] });
      expect(m.requiresOpenKernelModules && !m.supportsOpenKernelModules).toBe(false);
      expect(m.requiresProprietaryKernelModules).toBe(!m.supportsOpenKernelModules);
    }
  });
});

describe('nvidiaSmiMatch', () => {
  test.each([
    [GpuModel.RTX_2080_TI, 'RTX 2080 Ti'],
    [GpuModel.RTX_2060_SUPER, 'RTX 2060 SUPER'],
    [GpuModel.V100, 'V100'],
    [GpuModel.T4, 'T4'],
    [GpuModel.A100_40GB, 'A100'],
    [GpuModel.H100, 'H100'],
  ])('%s matches %s', (model, expected) => {
    expect(model.nvidiaSmiMatch).toBe(expected);
  });

  test('is a part of the full product name, so an nvidia-smi line with the full name matches', () => {
    for (const m of builtIns()) expect(m.productName).toContain(m.nvidiaSmiMatch);
  });

  test('keeps a custom product name without vendor words as it is', () => {
    expect(custom({ productName: 'Radeon Instinct MI50' }).nvidiaSmiMatch).toBe('Radeon Instinct MI50');
  });
});

describe('GpuModel.custom', () => {
  test('keeps every property', () => {
    expect(custom()).toMatchObject({
      id: 'RTX_4090', productName: 'NVIDIA GeForce RTX 4090', architecture: GpuArchitecture.ADA_LOVELACE,
      memoryGiB: 24, computeCapability: '8.9',
    });
    expect(custom()).toBeInstanceOf(GpuModel);
  });

  test.each(['RTX 4090', 'rtx-4090', '', 'A100/80'])('rejects the id %p and says what an id may hold', (id) => {
    const escaped = id.replace(/[/\\^$.*+?()[\]{}|]/g, '\\$&');
    expect(() => custom({ id })).toThrow(new RegExp(`id must be letters, digits and '_', got '${escaped}'`));
  });

  test.each(['7', '7.5.1', 'sm_75', 'v8.0', ''])('rejects the compute capability %p, naming the model and an example', (cc) => {
    expect(() => custom({ computeCapability: cc })).toThrow(
      new RegExp(`^GpuModel RTX_4090: computeCapability must look like '7\\.5', got '${cc.replace(/\./g, '\\.')}'$`));
  });

  test('accepts two-digit major versions such as Blackwell 10.0 and 12.0', () => {
    expect(custom({ architecture: GpuArchitecture.BLACKWELL, computeCapability: '12.0' }).computeCapability).toBe('12.0');
    expect(custom({ architecture: GpuArchitecture.BLACKWELL, computeCapability: '10.0' }).computeCapability).toBe('10.0');
  });
});

test('A100s match both the PCIe and the SXM names nvidia-smi reports', () => {
  expect(GpuModel.A100_80GB.nvidiaSmiMatch).toBe('A100');
  expect('NVIDIA A100-SXM4-80GB').toContain(GpuModel.A100_80GB.nvidiaSmiMatch);
  expect(GpuModel.custom({ id: 'X', productName: 'NVIDIA X', architecture: GpuArchitecture.AMPERE, memoryGiB: 1,
    computeCapability: '8.0', nvidiaSmiMatch: 'X-PCIE' }).nvidiaSmiMatch).toBe('X-PCIE');
});
