/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  // The mini-cloud tier has its own config (jest.cloud.config.js, npm run test:cloud).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/cloud/'],
  modulePathIgnorePatterns: ['<rootDir>/.cloud-tier/'],
  // Type checking is done once by `tsc` (npm run build); jest only transpiles, which keeps it quick.
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup.ts'],
  testTimeout: 120000,
  // Both cores: jest's default (cores - 1) leaves one idle on a 2-core machine.
  maxWorkers: '100%',
};
