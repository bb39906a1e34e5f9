import { CloudProfile, GpuArchitecture, GpuFlavor, GpuModel, IGpuFlavorCatalog } from '../../src';
import { inOrder } from '../support/messages';

const PATH = 'stack/Node';
const HFD = CloudProfile.HFD_NETLAB;

/** Resolves a flavor as a GPU node at PATH would. */
function resolve(flavor: GpuFlavor, catalog: IGpuFlavorCatalog = HFD) {
  return flavor._resolve(PATH, catalog);
}

describe('GpuFlavor.of (by model and count, through the cloud profile)', () => {
  test('2 x RTX 2080 Ti on HFD NetLab is g1-2x2080.medium', () => {
    expect(resolve(GpuFlavor.of(GpuModel.RTX_2080_TI, 2))).toEqual({
      flavorName: 'g1-2x2080.medium', model: GpuModel.RTX_2080_TI, gpuCount: 2,
    });
  });

  test.each([
    [GpuModel.RTX_2060_SUPER, 1, 'g1-1x2060.medium'],
    [GpuModel.RTX_2060_SUPER, 2, 'g1-2x2060.medium'],
    [GpuModel.RTX_2060_SUPER, 4, 'g1-4x2060.medium'],
    [GpuModel.RTX_2080_TI, 1, 'g1-1x2080.medium'],
    [GpuModel.RTX_2080_TI, 2, 'g1-2x2080.medium'],
  ])('%s x %i on HFD NetLab is %s', (model, count, flavorName) => {
    expect(resolve(GpuFlavor.of(model, count))).toEqual({ flavorName, model, gpuCount: count });
  });

  test('3 x RTX 2060 SUPER is impossible: the error names the path and lists 1, 2 or 4', () => {
    expect(() => resolve(GpuFlavor.of(GpuModel.RTX_2060_SUPER, 3))).toThrow(
      /^stack\/Node: gpuCount must be 1, 2 or 4 for RTX_2060_SUPER on cloud profile 'hfd-netlab', got 3$/);
  });

  test('4 x RTX 2080 Ti lists the two counts as "1 or 2"', () => {
    expect(() => resolve(GpuFlavor.of(GpuModel.RTX_2080_TI, 4))).toThrow(
      inOrder(PATH, 'gpuCount must be 1 or 2 for RTX_2080_TI', "'hfd-netlab'", 'got 4'));
  });

  test.each([0, -1, 1.5, NaN])('a count of %p is refused with the valid counts', (count) => {
    expect(() => resolve(GpuFlavor.of(GpuModel.RTX_2080_TI, count))).toThrow(
      inOrder(PATH, 'gpuCount must be 1 or 2', `got ${count}`));
  });

  test('a single offered count is listed alone', () => {
    const profile = CloudProfile.custom({
      name: 'one', flavors: [{ flavorName: 'gpu.t4', model: GpuModel.T4, gpuCount: 1 }],
    });
    expect(() => resolve(GpuFlavor.of(GpuModel.T4, 2), profile)).toThrow(
      /^stack\/Node: gpuCount must be 1 for T4 on cloud profile 'one', got 2$/);
  });

  test('counts are listed in ascending order whatever the profile order', () => {
    const profile = CloudProfile.custom({
      name: 'shuffled',
      flavors: [8, 1, 4].map((n) => ({ flavorName: `a100.${n}`, model: GpuModel.A100_80GB, gpuCount: n })),
    });
    expect(() => resolve(GpuFlavor.of(GpuModel.A100_80GB, 2), profile)).toThrow(inOrder('must be 1, 4 or 8', 'got 2'));
  });

  test('an unknown model lists what the profile offers and how to fix it', () => {
    expect(() => resolve(GpuFlavor.of(GpuModel.V100, 1))).toThrow(inOrder(
      PATH, "cloud profile 'hfd-netlab' has no flavor with V100 GPUs", '(it offers: RTX_2060_SUPER, RTX_2080_TI)',
      'withFlavor()', 'GpuFlavor.named()'));
  });

  test('a profile without flavors offers "none"', () => {
    const empty = CloudProfile.custom({ name: 'empty' });
    expect(() => resolve(GpuFlavor.of(GpuModel.T4, 1), empty)).toThrow(inOrder(PATH, "'empty'", 'T4', '(it offers: none)'));
  });

  test('models are matched by id, so a custom model with a built-in id resolves', () => {
    const twin = GpuModel.custom({
      id: 'RTX_2080_TI', productName: 'NVIDIA GeForce RTX 2080 Ti', architecture: GpuArchitecture.TURING,
      memoryGiB: 11, computeCapability: '7.5',
    });
    const resolved = resolve(GpuFlavor.of(twin, 1));
    expect(resolved.flavorName).toBe('g1-1x2080.medium');
    expect(resolved.model).toBe(twin);
  });

  test('a flavor added with withFlavor() resolves on the new profile only', () => {
    const profile = HFD.withFlavor({ flavorName: 'g1-1xv100.large', model: GpuModel.V100, gpuCount: 1 });
    expect(resolve(GpuFlavor.of(GpuModel.V100, 1), profile).flavorName).toBe('g1-1xv100.large');
    expect(() => resolve(GpuFlavor.of(GpuModel.V100, 1))).toThrow(/no flavor with V100/);
  });

  test('works with any catalog object, not only CloudProfile', () => {
    const catalog: IGpuFlavorCatalog = {
      name: 'plain', flavors: [{ flavorName: 'l4.x1', model: GpuModel.L4, gpuCount: 1 }],
    };
    expect(resolve(GpuFlavor.of(GpuModel.L4, 1), catalog).flavorName).toBe('l4.x1');
    expect(() => resolve(GpuFlavor.of(GpuModel.L4, 2), catalog)).toThrow(/cloud profile 'plain', got 2/);
  });
});

describe('GpuFlavor.named', () => {
  test('a flavor of the profile takes model and count from it', () => {
    expect(resolve(GpuFlavor.named('g1-4x2060.medium'))).toEqual({
      flavorName: 'g1-4x2060.medium', model: GpuModel.RTX_2060_SUPER, gpuCount: 4,
    });
  });

  test('an unknown flavor needs its GPU count: the readiness check never silently expects 1', () => {
    expect(() => resolve(GpuFlavor.named('x'))).toThrow(inOrder(PATH, "gpuCount must be given for flavor 'x', which cloud profile 'hfd-netlab' does not list",
      'got undefined', "GpuFlavor.named('x', { gpuCount: <GPUs it passes through> })"));
    expect(resolve(GpuFlavor.named('x', { gpuCount: 1 }))).toEqual({ flavorName: 'x', model: undefined, gpuCount: 1 });
  });

  test('options that contradict the profile are refused at synth, not found at boot', () => {
    expect(() => resolve(GpuFlavor.named('g1-2x2080.medium', { model: GpuModel.T4, gpuCount: 1 }))).toThrow(inOrder(
      PATH, "flavor 'g1-2x2080.medium' carries 2 x RTX_2080_TI in cloud profile 'hfd-netlab', got 1 x T4",
      'leave out model and gpuCount or fix the profile with withFlavor()'));
    expect(() => resolve(GpuFlavor.named('g1-2x2060.medium', { gpuCount: 3 }))).toThrow(/carries 2 x RTX_2060_SUPER .*got 3 x RTX_2060_SUPER/);
    expect(resolve(GpuFlavor.named('g1-2x2080.medium', { model: GpuModel.RTX_2080_TI, gpuCount: 2 })).gpuCount).toBe(2);
  });

  test('options describe a flavor the profile does not know', () => {
    expect(resolve(GpuFlavor.named('x', { model: GpuModel.A100_80GB, gpuCount: 8 }))).toEqual({
      flavorName: 'x', model: GpuModel.A100_80GB, gpuCount: 8,
    });
  });

  test.each(['a.b-c_d:e', 'x'.repeat(255)])('accepts the flavor name %p', (name) => {
    expect(resolve(GpuFlavor.named(name, { gpuCount: 1 })).flavorName).toBe(name);
  });

  test.each(['', 'g1 2x2080', 'x'.repeat(256), 'flavor/1', 'ümlaut'])('rejects the flavor name %p with path, value and rule', (name) => {
    expect(() => resolve(GpuFlavor.named(name))).toThrow(
      inOrder(PATH, "flavor name must be 1-255 letters, digits, '.', '-', '_' or ':'", `got '${name}'`));
  });

  test.each([0, -2, 1.5])('rejects gpuCount %p with path, flavor and value', (gpuCount) => {
    expect(() => resolve(GpuFlavor.named('x', { gpuCount }))).toThrow(
      inOrder(PATH, "gpuCount of flavor 'x' must be a whole number from 1 to 16", `got ${gpuCount}`));
  });

  test('resolving is pure: the same flavor resolves differently per profile', () => {
    const flavor = GpuFlavor.named('shared');
    const other = CloudProfile.custom({
      name: 'other', flavors: [{ flavorName: 'shared', model: GpuModel.H100, gpuCount: 8 }],
    });
    expect(resolve(flavor, other)).toEqual({ flavorName: 'shared', model: GpuModel.H100, gpuCount: 8 });
    expect(() => resolve(flavor)).toThrow(/gpuCount must be given for flavor 'shared', which cloud profile 'hfd-netlab' does not list/);
  });
});
