// loadConfig and the JWT secrets: generated outside production, strong ones required in production, never echoed.
import { randomBytes } from 'node:crypto';
import { SECRET_PLACEHOLDERS, loadConfig, secretWeakness } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';

/** The problems reported for JWT_SECRET in production when it has `value` (the refresh secret is strong). */
function accessSecretProblems(value: string): string[] {
  return configError({ NODE_ENV: 'production', ...STRONG, JWT_SECRET: value }).problems.filter((p) =>
    p.startsWith('JWT_SECRET:'),
  );
}

describe('secrets outside production', () => {
  it.each(['development', 'test', undefined])('generates both secrets when they are missing (NODE_ENV=%s)', (nodeEnv) => {
    const { config, warnings } = loadConfig({ NODE_ENV: nodeEnv, MFA_ENCRYPTION_KEY: STRONG.MFA_ENCRYPTION_KEY });
    const { accessSecret, refreshSecret } = config.jwt;
    expect(Buffer.byteLength(accessSecret)).toBeGreaterThanOrEqual(32);
    expect(Buffer.byteLength(refreshSecret)).toBeGreaterThanOrEqual(32);
    expect(accessSecret).not.toBe(refreshSecret);
    expect(warnings).toEqual([expect.stringContaining('JWT_SECRET'), expect.stringContaining('JWT_REFRESH_SECRET')]);
  });

  it('generates different secrets on every call', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      const { jwt } = loadConfig({}).config;
      seen.add(jwt.accessSecret);
      seen.add(jwt.refreshSecret);
    }
    expect(seen.size).toBe(10);
  });

  it('generates secrets that would pass the production rules', () => {
    const { jwt } = loadConfig({}).config;
    expect(() =>
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: jwt.accessSecret, JWT_REFRESH_SECRET: jwt.refreshSecret }),
    ).not.toThrow();
  });

  it('warns that tokens will not survive a restart, without ever including a secret', () => {
    const { config, warnings } = loadConfig({ MFA_ENCRYPTION_KEY: STRONG.MFA_ENCRYPTION_KEY });
    expect(warnings.join('\n')).toMatch(/restart/);
    for (const warning of warnings) {
      expect(warning).not.toContain(config.jwt.accessSecret);
      expect(warning).not.toContain(config.jwt.refreshSecret);
    }
  });

  it('generates only the missing secret and keeps the given one', () => {
    const { config, warnings } = loadConfig({ JWT_SECRET: STRONG.JWT_SECRET, MFA_ENCRYPTION_KEY: STRONG.MFA_ENCRYPTION_KEY });
    expect(config.jwt.accessSecret).toBe(STRONG.JWT_SECRET);
    expect(Buffer.byteLength(config.jwt.refreshSecret)).toBeGreaterThanOrEqual(32);
    expect(warnings).toEqual([expect.stringMatching(/^JWT_REFRESH_SECRET\b/)]);
  });

  it('accepts a weak secret with a warning naming the variable but not the value', () => {
    const weak = 'weak-zqx7';
    const { config, warnings } = loadConfig({ JWT_SECRET: weak, JWT_REFRESH_SECRET: STRONG.JWT_REFRESH_SECRET, MFA_ENCRYPTION_KEY: STRONG.MFA_ENCRYPTION_KEY });
    expect(config.jwt.accessSecret).toBe(weak);
    expect(warnings).toEqual([expect.stringMatching(/^JWT_SECRET\b.*production/)]);
    expect(warnings[0]).not.toContain(weak);
  });

  it('gives no warning when both secrets are strong', () => {
    expect(loadConfig(STRONG).warnings).toEqual([]);
  });
});

describe('secrets in production', () => {
  it('starts with strong, distinct secrets and no warning', () => {
    const { config, warnings } = loadConfig({ NODE_ENV: 'production', ...STRONG });
    expect(config.nodeEnv).toBe('production');
    expect(config.jwt.accessSecret).toBe(STRONG.JWT_SECRET);
    expect(config.jwt.refreshSecret).toBe(STRONG.JWT_REFRESH_SECRET);
    expect(warnings).toEqual([]);
  });

  it('refuses missing secrets, naming both variables in one error', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.problems).toEqual([
      expect.stringMatching(/^JWT_SECRET: .*required/),
      expect.stringMatching(/^JWT_REFRESH_SECRET: .*required/),
    ]);
  });

  it('refuses a 31-byte secret and accepts a 32-byte one', () => {
    const thirtyTwo = 'q7Wm2Zx9Lp4Rt8Vb3Nc6Yh1Jd5Kf0Gs-';
    expect(Buffer.byteLength(thirtyTwo)).toBe(32);
    expect(accessSecretProblems(thirtyTwo.slice(1))).toEqual([expect.stringMatching(/32 bytes/)]);
    expect(() => loadConfig({ NODE_ENV: 'production', ...STRONG, JWT_SECRET: thirtyTwo })).not.toThrow();
  });

  it('counts bytes, not characters', () => {
    // 16 two-byte characters are 32 bytes; 15 plus one ASCII character are 31.
    const varied = 'äöüßéèêëàâîïôûçñ';
    expect(() => loadConfig({ NODE_ENV: 'production', ...STRONG, JWT_SECRET: varied })).not.toThrow();
    expect(accessSecretProblems(`${varied.slice(1)}x`)).toEqual([expect.stringMatching(/32 bytes/)]);
  });

  it('refuses the same value for both secrets', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET: STRONG.JWT_SECRET, JWT_REFRESH_SECRET: STRONG.JWT_SECRET });
    expect(error.problems).toEqual([expect.stringMatching(/^JWT_REFRESH_SECRET: must differ from JWT_SECRET/)]);
  });

  it('refuses the placeholders written in .env.example', () => {
    const error = configError({ NODE_ENV: 'production', ...SECRET_PLACEHOLDERS });
    expect(error.problems).toEqual([
      expect.stringMatching(/^JWT_SECRET: .*well-known or placeholder/),
      expect.stringMatching(/^JWT_REFRESH_SECRET: .*well-known or placeholder/),
    ]);
  });

  it.each([
    'your-super-secret-jwt-token-with-at-least-32-characters-long',
    'YOUR-SUPER-SECRET-JWT-TOKEN-WITH-AT-LEAST-32-CHARACTERS-LONG',
    'a-string-secret-at-least-256-bits-long',
  ])('refuses the well-known secret %j', (value) => {
    expect(accessSecretProblems(value)).toEqual([expect.stringMatching(/well-known/)]);
  });

  it.each([
    'a'.repeat(40),
    'ab'.repeat(20),
    '0123456780123456780123456780123456',
    'abcdefghijabcdefghijabcdefghijab',
    '0123456789012345678901234567890123',
    `${'a'.repeat(35)}bcdefghijkl`,
  ])(
    'refuses the low-variety secret %j',
    (value) => {
      expect(accessSecretProblems(value)).toEqual([expect.stringMatching(/variety/)]);
    },
  );

  it('accepts secrets made the way .env.example says (random bytes as hex, base64 or base64url)', () => {
    for (let i = 0; i < 200; i += 1) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        expect(secretWeakness(randomBytes(32).toString(encoding))).toBeNull();
      }
    }
  });

  it('lists several problems at once in one error naming each variable', () => {
    const error = configError({
      NODE_ENV: 'production',
      JWT_REFRESH_SECRET: 'short',
      PORT: 'abc',
      BCRYPT_COST: '9',
      CORS_ORIGINS: '*',
      TRUST_PROXY: 'true',
    });
    const named = ['JWT_SECRET', 'JWT_REFRESH_SECRET', 'PORT', 'BCRYPT_COST', 'CORS_ORIGINS', 'TRUST_PROXY'];
    for (const name of named) expect(error.message).toContain(`${name}: `);
    expect(error.problems).toHaveLength(named.length);
    expect(error.message.split('\n')[0]).toBe('Invalid configuration:');
  });

  it('never repeats a given value in the error', () => {
    const values = {
      JWT_SECRET: 'qqsecret-alpha-31-bytes-long-xyz'.slice(0, 31),
      JWT_REFRESH_SECRET: 'your-super-secret-jwt-token-with-at-least-32-characters-long',
      PORT: 'qqport',
      HOST: '10.9.8.7',
      BCRYPT_COST: '99',
      ACCESS_TOKEN_TTL: 'qqttl',
      LOG_LEVEL: 'qqlevel',
      CORS_ORIGINS: 'https://qqorigin.example.com/qqpath',
      ALLOW_REGISTRATION: 'qqflag',
      // Not a Redis scheme, so refused; the password in it must not be repeated.
      REDIS_URL: 'https://qquser:qqpass@qqredis:6379',
    };
    const error = configError({ NODE_ENV: 'production', ...values });
    for (const [name, value] of Object.entries(values)) {
      if (name !== 'HOST') expect(error.message).toContain(name);
      expect(error.message).not.toContain(value);
    }
    expect(error.message).not.toMatch(/qq/);
    expect(error.message).not.toContain('your-super-secret');
  });

  it('does not mention a strong secret when another variable is wrong', () => {
    const error = configError({ NODE_ENV: 'production', ...STRONG, PORT: 'abc' });
    expect(error.message).not.toContain(STRONG.JWT_SECRET);
    expect(error.message).not.toContain(STRONG.JWT_REFRESH_SECRET);
    expect(error.problems).toEqual([expect.stringMatching(/^PORT: /)]);
  });
});
