/** @jest-config-loader-options {"transpileOnly": true} */
// Jest configuration: TypeScript tests through ts-jest (types are checked by `npm run typecheck`).
import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // isolatedModules in tsconfig.json makes ts-jest transpile only: fast, types checked by tsc.
  transform: {
    '^.+\\.ts$': ['ts-jest', {}],
  },
  // bcrypt at cost 10 and child processes make some tests take seconds, not milliseconds.
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};

export default config;
