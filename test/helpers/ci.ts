// One rule for every suite that needs a service: in CI (any CI value but empty, 0 or false) nothing may skip.

/** True in a CI run, where a missing Redis, PostgreSQL or browser fails instead of skipping. */
export function inCi(): boolean {
  const value = (process.env.CI ?? '').trim().toLowerCase();
  return value !== '' && value !== '0' && value !== 'false';
}
