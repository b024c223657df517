// loadConfig and MFA_ENCRYPTION_KEY: its formats, the random key for memory stores, and production's refusal without a key for durable ones.
import { loadConfig } from '../../src/config';
import { configError, STRONG_SECRETS } from '../helpers/config-errors';

/** The strong secrets without the key these tests are about. */
const STRONG = { ...STRONG_SECRETS, MFA_ENCRYPTION_KEY: undefined };

const KEY_BASE64 = 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=';
const KEY_HEX = 'a3f1c09e5b7d2e4f8a6c1b3d5e7f9a0b2c4d6e8f1a3b5c7d9e0f2a4b6c8d0e1f';
const DATABASE = { DATABASE_URL: 'postgres://auth:pw@db.example.com:5432/auth' };
const REDIS = { REDIS_URL: 'redis://127.0.0.1:6379' };
const PRODUCTION = { ...STRONG, NODE_ENV: 'production' };

describe('MFA_ENCRYPTION_KEY', () => {
  it('derives a 32-byte key from base64 or hex, the same key every start', () => {
    const first = loadConfig({ ...STRONG, MFA_ENCRYPTION_KEY: KEY_BASE64 }).config.mfa.encryptionKey;
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({ ...STRONG, MFA_ENCRYPTION_KEY: KEY_BASE64 }).config.mfa.encryptionKey).toBe(first);
    expect(loadConfig({ ...STRONG, MFA_ENCRYPTION_KEY: KEY_HEX }).config.mfa.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({ ...STRONG, MFA_ENCRYPTION_KEY: KEY_HEX }).config.mfa.encryptionKey).not.toBe(first);
  });

  it.each([
    ['too short', 'c2hvcnQta2V5'],
    ['raw text', 'my mfa passphrase that is long enough!!'],
  ])('refuses a key that is %s, naming the variable and never the value', (_what, value) => {
    const error = configError({ ...STRONG, MFA_ENCRYPTION_KEY: value });
    expect(error.problems).toEqual([expect.stringMatching(/^MFA_ENCRYPTION_KEY: must be at least 32 random bytes/)]);
    expect(error.message).not.toContain(value);
  });

  it('uses a random key with a warning when the stores are in memory, in production too', () => {
    const loaded = loadConfig(PRODUCTION);
    expect(loaded.config.mfa.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig(PRODUCTION).config.mfa.encryptionKey).not.toBe(loaded.config.mfa.encryptionKey);
    expect(loaded.warnings).toContainEqual(expect.stringMatching(/^MFA_ENCRYPTION_KEY is not set: using a random one/));
  });

  it.each([
    ['DATABASE_URL', DATABASE],
    ['REDIS_URL', REDIS],
  ])('stops production with %s and no key: the factors would be unreadable after a restart', (_name, storage) => {
    expect(configError({ ...PRODUCTION, ...storage }).problems).toEqual([
      'MFA_ENCRYPTION_KEY: is required in production when DATABASE_URL or REDIS_URL is set (TOTP secrets stored there would be unreadable after a restart)',
    ]);
    expect(loadConfig({ ...PRODUCTION, ...storage, MFA_ENCRYPTION_KEY: KEY_BASE64 }).config.mfa.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('outside production with a database and no key: no key at all, and a warning that enrolment is off', () => {
    const loaded = loadConfig({ ...STRONG, ...DATABASE });
    expect(loaded.config.mfa.encryptionKey).toBeNull();
    expect(loaded.warnings).toContainEqual(expect.stringMatching(/^MFA_ENCRYPTION_KEY is not set: TOTP enrolment is off \(501 not_configured\)/));
  });

  it('refuses a key of 32 bytes with too little variety in production, and warns of it elsewhere', () => {
    const weak = Buffer.alloc(32, 7).toString('base64');
    expect(configError({ ...PRODUCTION, MFA_ENCRYPTION_KEY: weak }).problems).toEqual(['MFA_ENCRYPTION_KEY: has too little variety to be random']);
    expect(loadConfig({ ...STRONG, MFA_ENCRYPTION_KEY: weak }).warnings).toContainEqual(
      'MFA_ENCRYPTION_KEY has too little variety to be random: it would be refused in production',
    );
  });
});
