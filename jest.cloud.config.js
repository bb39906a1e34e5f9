/** The mini-cloud tier (npm run test:cloud): real provider, real OpenStack APIs; one test at a time. The rest as in jest.config.js. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/__tests__/cloud-tier/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 900000,
  maxWorkers: 1,
};
