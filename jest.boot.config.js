/** The boot simulator (npm run test:boot): real cloud-init in a Debian chroot; needs root; one test at a time. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/boot-sim/**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 900000,
  maxWorkers: 1,
  modulePathIgnorePatterns: ['<rootDir>/.cloud-tier/', '<rootDir>/.boot-sim/'],
};
