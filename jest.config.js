/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  // The mini-cloud tier and the boot simulator have their own configs (npm run test:cloud, test:boot).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/cloud-tier/', '<rootDir>/__tests__/boot-sim/'],
  // .boot-sim holds the simulator's Debian chroots: nothing for jest to crawl.
  modulePathIgnorePatterns: ['<rootDir>/.cloud-tier/', '<rootDir>/.boot-sim/'],
  // Type checking is done once by `tsc` (npm run build); jest only transpiles, which keeps it quick.
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
  testTimeout: 120000,
  // Both cores: jest's default (cores - 1) leaves one idle on a 2-core machine.
  maxWorkers: '100%',
};
