/** The boot simulator (npm run test:boot): real cloud-init in a Debian chroot; needs root; one test at a time. The rest as in jest.config.js. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/__tests__/boot-sim/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 900000,
  maxWorkers: 1,
};
