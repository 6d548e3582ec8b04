'use strict';
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Namespace and podman tests fork processes; keep parallelism at the core count.
  maxWorkers: 2,
  testTimeout: 120000,
  // In the checkout, not /tmp/jest_*: a run leaves nothing outside it.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // What a run started of podman's or Docker's test scenario, it stops.
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
};
