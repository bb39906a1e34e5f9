import { CloudProfile, CloudProfileProps, GpuFlavorSpec, GpuModel, UbuntuRelease } from '../../src';

const HFD = CloudProfile.HFD_NETLAB;
const V100_FLAVOR: GpuFlavorSpec = { flavorName: 'g1-1xv100.large', model: GpuModel.V100, gpuCount: 1 };

/** A custom profile named `lab`; override what a test is about. */
function lab(overrides: Partial<CloudProfileProps> = {}): CloudProfile {
  return CloudProfile.custom({ name: 'lab', ...overrides });
}

/** Everything a profile knows, as plain data, to compare before and after a change. */
function snapshot(profile: CloudProfile) {
  return {
    name: profile.name,
    flavors: profile.flavors.map((f) => `${f.flavorName}=${f.gpuCount}x${f.model.id}`),
    ubuntuImages: profile.ubuntuImages.map((i) => `${i.release}=${i.imageName}`),
    loginUser: profile.loginUser,
    externalNetworkName: profile.externalNetworkName,
    userNetworkPattern: profile.userNetworkPattern,
    maxLifetimeHours: profile.maxLifetimeHours,
  };
}

const HFD_BEFORE = snapshot(HFD);

describe('CloudProfile.HFD_NETLAB', () => {
  test('knows the five NetLab GPU flavors', () => {
    expect(HFD_BEFORE.flavors).toEqual([
      'g1-1x2060.medium=1xRTX_2060_SUPER',
      'g1-2x2060.medium=2xRTX_2060_SUPER',
      'g1-4x2060.medium=4xRTX_2060_SUPER',
      'g1-1x2080.medium=1xRTX_2080_TI',
      'g1-2x2080.medium=2xRTX_2080_TI',
    ]);
  });

  test('logs in as ubuntu, routes to "public" and shelves after one week', () => {
    expect(HFD.name).toBe('hfd-netlab');
    expect(HFD.loginUser).toBe('ubuntu');
    expect(HFD.externalNetworkName).toBe('public');
    expect(HFD.maxLifetimeHours).toBe(168);
  });

  test('names the Ubuntu cloud images of 22.04 and 24.04', () => {
    expect(HFD.ubuntuImageName('s/n', UbuntuRelease.JAMMY_22_04)).toBe('Ubuntu 22.04 - Jammy Jellyfish - 64-bit - Cloud Based Image');
    expect(HFD.ubuntuImageName('s/n', UbuntuRelease.NOBLE_24_04)).toBe('Ubuntu 24.04 - Noble Numbat - 64-bit - Cloud Based Image');
  });

  test('the per-user network of alice is alice-net', () => {
    expect(HFD.userNetworkName('alice')).toBe('alice-net');
  });
});

describe('CloudProfile.custom', () => {
  test('fills in the defaults', () => {
    expect(snapshot(lab())).toEqual({
      name: 'lab', flavors: [], ubuntuImages: [], loginUser: 'ubuntu', externalNetworkName: undefined,
      userNetworkPattern: '{user}-net', maxLifetimeHours: undefined,
    });
  });

  test('keeps every given fact', () => {
    const profile = lab({
      flavors: [V100_FLAVOR],
      ubuntuImages: [{ release: UbuntuRelease.NOBLE_24_04, imageName: 'noble' }],
      loginUser: 'cloud', externalNetworkName: 'ext', userNetworkPattern: 'proj-{user}', maxLifetimeHours: 24,
    });
    expect(snapshot(profile)).toEqual({
      name: 'lab', flavors: ['g1-1xv100.large=1xV100'], ubuntuImages: ['24.04=noble'], loginUser: 'cloud',
      externalNetworkName: 'ext', userNetworkPattern: 'proj-{user}', maxLifetimeHours: 24,
    });
    expect(profile.userNetworkName('bob')).toBe('proj-bob');
  });

  test('copies the arrays it is given, so changing them later does not change the profile', () => {
    const flavors = [V100_FLAVOR];
    const ubuntuImages = [{ release: UbuntuRelease.JAMMY_22_04, imageName: 'jammy' }];
    const profile = lab({ flavors, ubuntuImages });
    flavors.push({ flavorName: 'other', model: GpuModel.T4, gpuCount: 1 });
    ubuntuImages.pop();
    expect(profile.flavors).toHaveLength(1);
    expect(profile.ubuntuImages).toHaveLength(1);
  });

  test.each(['HFD', 'hfd netlab', '-lab', '', 'lab_1'])('rejects the name %p and says what a name may hold', (name) => {
    expect(() => lab({ name })).toThrow(new RegExp(`^CloudProfile: name must be lower-case letters, digits and '-', got '${name}'$`));
  });

  test.each([0, -1, 1.5])('rejects a flavor with gpuCount %p, naming profile, flavor and value', (gpuCount) => {
    expect(() => lab({ flavors: [{ ...V100_FLAVOR, gpuCount }] })).toThrow(
      new RegExp(`^CloudProfile lab: gpuCount of flavor g1-1xv100\\.large must be a whole number from 1 to 16, got ${gpuCount}\\. Give the number of GPUs`));
  });

  test.each([0, -24, 1.5, NaN])('rejects maxLifetimeHours %p, naming profile and value', (maxLifetimeHours) => {
    expect(() => lab({ maxLifetimeHours })).toThrow(
      new RegExp(`^CloudProfile lab: maxLifetimeHours must be a whole number from 1 to 87600 \\(10 years\\), got ${maxLifetimeHours}; leave it out`));
  });
});

describe('with*() return changed copies and leave the original alone', () => {
  afterEach(() => {
    // HFD_NETLAB is shared by every user of the library: no test may change it.
    expect(snapshot(HFD)).toEqual(HFD_BEFORE);
  });

  test('withFlavor adds a flavor', () => {
    const copy = HFD.withFlavor(V100_FLAVOR);
    expect(copy).not.toBe(HFD);
    expect(copy.flavors).toHaveLength(6);
    expect(copy.flavors[5]).toEqual(V100_FLAVOR);
    expect(HFD.flavors).toHaveLength(5);
    expect({ ...snapshot(copy), flavors: undefined }).toEqual({ ...HFD_BEFORE, flavors: undefined });
  });

  test('withFlavor replaces a flavor of the same name', () => {
    const copy = HFD.withFlavor({ flavorName: 'g1-1x2080.medium', model: GpuModel.RTX_2080_TI, gpuCount: 2 });
    expect(copy.flavors).toHaveLength(5);
    expect(copy.flavors.filter((f) => f.flavorName === 'g1-1x2080.medium').map((f) => f.gpuCount)).toEqual([2]);
  });

  test('withFlavor validates the new flavor', () => {
    expect(() => HFD.withFlavor({ ...V100_FLAVOR, gpuCount: 0 })).toThrow(/hfd-netlab: gpuCount of flavor g1-1xv100.large must be a whole number from 1 to 16, got 0/);
  });

  test('withUbuntuImage replaces the image of one release and keeps the other', () => {
    const copy = HFD.withUbuntuImage(UbuntuRelease.NOBLE_24_04, 'ubuntu-24.04-custom');
    expect(copy.ubuntuImageName('s/n', UbuntuRelease.NOBLE_24_04)).toBe('ubuntu-24.04-custom');
    expect(copy.ubuntuImageName('s/n', UbuntuRelease.JAMMY_22_04)).toBe(HFD.ubuntuImageName('s/n', UbuntuRelease.JAMMY_22_04));
    expect(copy.ubuntuImages).toHaveLength(2);
  });

  test('withExternalNetwork changes only the external network', () => {
    const copy = HFD.withExternalNetwork('ext-net');
    expect(copy.externalNetworkName).toBe('ext-net');
    expect({ ...snapshot(copy), externalNetworkName: 'public' }).toEqual(HFD_BEFORE);
  });

  test('withMaxLifetimeHours changes only the limit, and validates it', () => {
    expect(HFD.withMaxLifetimeHours(48).maxLifetimeHours).toBe(48);
    expect({ ...snapshot(HFD.withMaxLifetimeHours(48)), maxLifetimeHours: 168 }).toEqual(HFD_BEFORE);
    expect(() => HFD.withMaxLifetimeHours(0)).toThrow(/^CloudProfile hfd-netlab: maxLifetimeHours must be a whole number from 1 to 87600 \(10 years\), got 0; leave it out/);
  });

  test('copies chain and each step keeps the earlier changes', () => {
    const copy = lab().withExternalNetwork('ext').withFlavor(V100_FLAVOR).withMaxLifetimeHours(12);
    expect(snapshot(copy)).toMatchObject({ name: 'lab', externalNetworkName: 'ext', maxLifetimeHours: 12, flavors: ['g1-1xv100.large=1xV100'] });
  });
});

describe('ubuntuImageName', () => {
  test('a missing release names the path, the release, what the profile has and how to fix it', () => {
    const profile = lab({ ubuntuImages: [{ release: UbuntuRelease.JAMMY_22_04, imageName: 'jammy' }] });
    expect(() => profile.ubuntuImageName('stack/Node', UbuntuRelease.NOBLE_24_04)).toThrow(
      /^stack\/Node: cloud profile 'lab' names no image for Ubuntu 24\.04 \(it has: 22\.04\); add one with withUbuntuImage\(\) or use NodeImage\.fromName\(\)$/);
  });

  test('a profile without images says it has none', () => {
    expect(() => lab().ubuntuImageName('stack/Node', UbuntuRelease.JAMMY_22_04)).toThrow(/stack\/Node: .*Ubuntu 22\.04 \(it has: none\).*withUbuntuImage/);
  });
});

test('built-in profiles are frozen: changing their lists fails instead of changing every user', () => {
  expect(() => (CloudProfile.HFD_NETLAB.flavors as unknown[]).push({})).toThrow(TypeError);
  expect(CloudProfile.HFD_NETLAB.flavors).toHaveLength(5);
});
