/** The mini-cloud tier (npm run test:cloud): real provider, real OpenStack APIs; one test at a time. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/cloud/**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 900000,
  maxWorkers: 1,
  modulePathIgnorePatterns: ['<rootDir>/.cloud-tier/', '<rootDir>/.boot-sim/'],
};
