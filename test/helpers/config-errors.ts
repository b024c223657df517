// What the configuration tests share: strong secrets, and the ConfigError an environment draws.
import { ConfigError, loadConfig } from '../../src/config';

/** Strong, distinct secrets, so that tests about other variables pass the secret rules. */
export const STRONG_SECRETS = {
  JWT_SECRET: 'Kp3-vQ9_zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'Wq8_nE2-rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  // Set, so that the random-key warning of memory stores does not mix into the warnings under test.
  MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
};

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
export function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}
