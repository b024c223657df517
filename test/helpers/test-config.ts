// Configuration for tests: strong fixed secrets, the lowest bcrypt cost, quiet logs.
import { loadConfig, type Config } from '../../src/config';

export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  JWT_SECRET: 'test-access-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  JWT_REFRESH_SECRET: 'test-refresh-secret-9876543210-zyxwvutsrqponmlkjihgfedcba',
  BCRYPT_COST: '10',
  // A high per-address ceiling so that only the tests about it ever reach it.
  RATE_LIMIT_MAX: '10000',
  LOG_LEVEL: 'info',
};

/** A Config from TEST_ENV with `overrides` applied (an empty string unsets a variable). */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...TEST_ENV, ...overrides }).config;
}
