// loadConfig: defaults, durations, value checks naming the variable, generated secrets and a frozen result.
import { defaultHashConcurrency } from '../../src/auth/hash-gate';
import { loadConfig, type Config } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';



function load(env: Record<string, string | undefined>): Config {
  return loadConfig({ ...STRONG, ...env }).config;
}

describe('loadConfig defaults', () => {
  it('uses the documented default of every variable when the environment is empty', () => {
    const { config } = loadConfig({});
    expect(config).toEqual({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      jwt: {
        accessSecret: expect.any(String),
        refreshSecret: expect.any(String),
        issuer: 'auth-server',
        audience: 'api',
        accessTtlSec: 900,
        refreshTtlSec: 604_800,
        reuseGraceMs: 10_000,
        accessKeyId: null,
        verifySecrets: [],
        algorithm: 'HS256',
        privateKey: null,
        verifyPublicKeys: [],
      },
      bcryptCost: 12,
      passwordHashing: { concurrency: defaultHashConcurrency(), queue: 32, queuePerAddress: 4, nice: 10 },
      usersFile: null,
      allowRegistration: true,
      rateLimits: {
        login: { max: 5, windowMs: 900_000 },
        perAddress: { max: 100, windowMs: 900_000 },
      },
      sessions: { refreshLimit: { max: 60, windowMs: 900_000 }, idleTimeoutMs: null },
      corsOrigins: [],
      trustProxy: false,
      logLevel: 'info',
      redis: null,
      database: null,
      introspectionClients: [],
      mail: {
        smtpUrl: null,
        from: 'auth-server <no-reply@localhost>',
        appUrl: 'http://127.0.0.1:3000',
        cooldownMs: 60_000,
        passwordResetTtlMs: 3_600_000,
        emailVerificationTtlMs: 86_400_000,
      },
      requireEmailVerification: false,
      mfa: { encryptionKey: expect.stringMatching(/^[0-9a-f]{64}$/) },
      metrics: { enabled: true, token: null },
      audit: { retentionMs: 7_776_000_000 },
    });
  });

  it('treats an empty value (KEY= in a .env file) as not set', () => {
    const config = load({ PORT: '', BCRYPT_COST: '', ACCESS_TOKEN_TTL: '', LOG_LEVEL: '' });
    expect(config.port).toBe(3000);
    expect(config.bcryptCost).toBe(12);
    expect(config.jwt.accessTtlSec).toBe(900);
    expect(config.logLevel).toBe('info');
  });

  it('reads every variable that is set', () => {
    const config = load({
      NODE_ENV: 'test',
      PORT: '8080',
      HOST: '0.0.0.0',
      JWT_ISSUER: 'https://auth.example.com',
      JWT_AUDIENCE: 'orders',
      BCRYPT_COST: '10',
      USERS_FILE: '/etc/auth/users.json',
      ALLOW_REGISTRATION: 'false',
      LOGIN_RATE_LIMIT_MAX: '3',
      RATE_LIMIT_MAX: '50',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      nodeEnv: 'test',
      port: 8080,
      host: '0.0.0.0',
      jwt: {
        accessSecret: STRONG.JWT_SECRET,
        refreshSecret: STRONG.JWT_REFRESH_SECRET,
        issuer: 'https://auth.example.com',
        audience: 'orders',
      },
      bcryptCost: 10,
      usersFile: '/etc/auth/users.json',
      allowRegistration: false,
      rateLimits: { login: { max: 3 }, perAddress: { max: 50 } },
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      logLevel: 'warn',
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['FALSE', false],
    ['0', false],
    ['no', false],
  ])('reads ALLOW_REGISTRATION=%j as %s', (text, value) => {
    expect(load({ ALLOW_REGISTRATION: text }).allowRegistration).toBe(value);
  });
});

describe('loadConfig durations', () => {
  it('takes seconds ("900") and ms-style strings ("15m", "7d", "500ms")', () => {
    const config = load({
      ACCESS_TOKEN_TTL: '900',
      REFRESH_TOKEN_TTL: '7d',
      REFRESH_REUSE_GRACE: '500ms',
      LOGIN_RATE_LIMIT_WINDOW: '15m',
      RATE_LIMIT_WINDOW: '60',
    });
    expect(config.jwt.accessTtlSec).toBe(900);
    expect(config.jwt.refreshTtlSec).toBe(604_800);
    expect(config.jwt.reuseGraceMs).toBe(500);
    expect(config.rateLimits.login.windowMs).toBe(900_000);
    expect(config.rateLimits.perAddress.windowMs).toBe(60_000);
  });

  it.each(['ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'REFRESH_REUSE_GRACE', 'LOGIN_RATE_LIMIT_WINDOW', 'RATE_LIMIT_WINDOW'])(
    'refuses a %s that is not a duration, naming the variable',
    (name) => {
      expect(configError({ ...STRONG, [name]: 'soon' }).message).toContain(`${name}:`);
      expect(configError({ ...STRONG, [name]: '-5m' }).message).toContain(`${name}:`);
    },
  );

  it('refuses a REFRESH_TOKEN_TTL that does not exceed ACCESS_TOKEN_TTL', () => {
    expect(configError({ ...STRONG, ACCESS_TOKEN_TTL: '1h', REFRESH_TOKEN_TTL: '1h' }).message).toContain('REFRESH_TOKEN_TTL:');
    expect(configError({ ...STRONG, ACCESS_TOKEN_TTL: '1h', REFRESH_TOKEN_TTL: '30m' }).message).toContain('REFRESH_TOKEN_TTL:');
    expect(load({ ACCESS_TOKEN_TTL: '1h', REFRESH_TOKEN_TTL: '3601' }).jwt.refreshTtlSec).toBe(3601);
  });

  it('refuses an ACCESS_TOKEN_TTL under one second', () => {
    expect(configError({ ...STRONG, ACCESS_TOKEN_TTL: '500ms' }).message).toContain('ACCESS_TOKEN_TTL:');
  });

  it('accepts a REFRESH_REUSE_GRACE up to 60s and refuses a longer one', () => {
    expect(load({ REFRESH_REUSE_GRACE: '60s' }).jwt.reuseGraceMs).toBe(60_000);
    expect(load({ REFRESH_REUSE_GRACE: '0' }).jwt.reuseGraceMs).toBe(0);
    expect(configError({ ...STRONG, REFRESH_REUSE_GRACE: '61s' }).message).toContain('REFRESH_REUSE_GRACE:');
    expect(configError({ ...STRONG, REFRESH_REUSE_GRACE: '2m' }).message).toContain('REFRESH_REUSE_GRACE:');
  });
});

describe('loadConfig session limits', () => {
  it('limits each session to 60 refreshes per 15 minutes and keeps idle sessions by default', () => {
    expect(load({}).sessions).toEqual({ refreshLimit: { max: 60, windowMs: 900_000 }, idleTimeoutMs: null });
  });

  it('reads REFRESH_RATE_LIMIT_MAX, REFRESH_RATE_LIMIT_WINDOW and SESSION_IDLE_TIMEOUT', () => {
    const config = load({ REFRESH_RATE_LIMIT_MAX: '10', REFRESH_RATE_LIMIT_WINDOW: '5m', SESSION_IDLE_TIMEOUT: '8h' });
    expect(config.sessions).toEqual({ refreshLimit: { max: 10, windowMs: 300_000 }, idleTimeoutMs: 8 * 3_600_000 });
  });

  it.each([
    ['REFRESH_RATE_LIMIT_MAX', '0'],
    ['REFRESH_RATE_LIMIT_MAX', 'many'],
    ['REFRESH_RATE_LIMIT_WINDOW', 'soon'],
    ['SESSION_IDLE_TIMEOUT', 'a while'],
    ['SESSION_IDLE_TIMEOUT', '-1h'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    expect(configError({ ...STRONG, [name]: value }).message).toContain(`${name}:`);
  });

  it('refuses a SESSION_IDLE_TIMEOUT that does not exceed ACCESS_TOKEN_TTL: every session would end between refreshes', () => {
    expect(configError({ ...STRONG, SESSION_IDLE_TIMEOUT: '15m' }).message).toContain(
      'SESSION_IDLE_TIMEOUT: must be longer than ACCESS_TOKEN_TTL',
    );
    expect(configError({ ...STRONG, ACCESS_TOKEN_TTL: '1h', SESSION_IDLE_TIMEOUT: '30m' }).message).toContain('SESSION_IDLE_TIMEOUT:');
    expect(load({ SESSION_IDLE_TIMEOUT: '16m' }).sessions.idleTimeoutMs).toBe(960_000);
  });

  it('refuses a SESSION_IDLE_TIMEOUT that does not exceed REFRESH_RATE_LIMIT_WINDOW: a session waiting out a 429 is not idle', () => {
    expect(configError({ ...STRONG, SESSION_IDLE_TIMEOUT: '1h', REFRESH_RATE_LIMIT_WINDOW: '1h' }).message).toContain(
      'SESSION_IDLE_TIMEOUT: must be longer than REFRESH_RATE_LIMIT_WINDOW',
    );
    expect(load({ SESSION_IDLE_TIMEOUT: '1h', REFRESH_RATE_LIMIT_WINDOW: '59m' }).sessions.idleTimeoutMs).toBe(3_600_000);
  });
});

describe('loadConfig value checks', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['BCRYPT_COST', '9'],
    ['BCRYPT_COST', '16'],
    ['BCRYPT_COST', 'abc'],
    ['PASSWORD_HASH_CONCURRENCY', '0'],
    ['PASSWORD_HASH_CONCURRENCY', '65'],
    ['PASSWORD_HASH_QUEUE', '-1'],
    ['PASSWORD_HASH_QUEUE', 'lots'],
    ['PASSWORD_HASH_QUEUE_PER_ADDRESS', '0'],
    ['PASSWORD_HASH_QUEUE_PER_ADDRESS', 'half'],
    ['PASSWORD_HASH_NICE', '-1'],
    ['PASSWORD_HASH_NICE', '20'],
    ['PASSWORD_HASH_NICE', 'low'],
    ['LOGIN_RATE_LIMIT_MAX', '0'],
    ['RATE_LIMIT_MAX', 'many'],
    ['LOG_LEVEL', 'verbose'],
    ['NODE_ENV', 'staging'],
    ['ALLOW_REGISTRATION', 'maybe'],
    ['CORS_ORIGINS', '*'],
    ['CORS_ORIGINS', 'not a url'],
    ['CORS_ORIGINS', 'https://a.com/path'],
    ['CORS_ORIGINS', 'https://a.com/'],
    ['CORS_ORIGINS', 'https://ok.example.com,ftp://files.example.com'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    const error = configError({ ...STRONG, [name]: value });
    expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    expect(error.message).toContain(`${name}: `);
  });

  it.each([
    ['BCRYPT_COST', '10', 'bcryptCost', 10],
    ['BCRYPT_COST', '15', 'bcryptCost', 15],
    ['PORT', '0', 'port', 0],
    ['PORT', '65535', 'port', 65535],
  ] as const)('accepts the boundary %s=%s', (name, value, key, expected) => {
    expect(load({ [name]: value })[key]).toBe(expected);
  });

  it.each([
    [
      { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '0', PASSWORD_HASH_QUEUE_PER_ADDRESS: '1', PASSWORD_HASH_NICE: '0' },
      { concurrency: 1, queue: 0, queuePerAddress: 1, nice: 0 },
    ],
    [
      { PASSWORD_HASH_CONCURRENCY: '64', PASSWORD_HASH_QUEUE: '100000', PASSWORD_HASH_QUEUE_PER_ADDRESS: '100000', PASSWORD_HASH_NICE: '19' },
      { concurrency: 64, queue: 100_000, queuePerAddress: 100_000, nice: 19 },
    ],
  ])('reads the password hashing limits %j', (env, expected) => {
    expect(load(env).passwordHashing).toEqual(expected);
  });

  it('turns on the Redis stores with REDIS_URL, under the key prefix "auth:" unless REDIS_KEY_PREFIX says otherwise', () => {
    expect(load({ REDIS_URL: 'redis://127.0.0.1:6379' }).redis).toEqual({ url: 'redis://127.0.0.1:6379', keyPrefix: 'auth:' });
    expect(load({ REDIS_URL: 'rediss://user:pw@cache.internal:6380/2', REDIS_KEY_PREFIX: 'shop-auth:' }).redis).toEqual({
      url: 'rediss://user:pw@cache.internal:6380/2',
      keyPrefix: 'shop-auth:',
    });
    expect(load({ REDIS_KEY_PREFIX: 'ignored:' }).redis).toBeNull();
  });

  it.each([
    ['REDIS_URL', 'http://:qqpass@qqhost:6379'],
    ['REDIS_URL', 'qqhost:6379'],
    ['REDIS_URL', 'redis://:qqpass@'],
    ['REDIS_KEY_PREFIX', 'qq words'],
    ['REDIS_KEY_PREFIX', 'qq'.repeat(33)],
  ])('refuses %s=%j, naming the variable and never the value', (name, value) => {
    const error = configError({ ...STRONG, REDIS_URL: 'redis://127.0.0.1:6379', [name]: value });
    expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    expect(error.message).not.toMatch(/qq/);
  });
});

describe('loadConfig TRUST_PROXY', () => {
  it.each([
    ['false', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    ['loopback, 10.0.0.0/8', ['loopback', '10.0.0.0/8']],
  ])('reads %j as %j', (text, value) => {
    expect(load({ TRUST_PROXY: text }).trustProxy).toEqual(value);
    expect(load({ NODE_ENV: 'production', TRUST_PROXY: text }).trustProxy).toEqual(value);
  });

  it.each(['TRUE', 'yes', '0.0.0.0/0/1', '10.0.0.300', '10.0.0.0/33', '11', 'loopback,not-an-address'])(
    'refuses %j, naming the variable',
    (text) => {
      const error = configError({ TRUST_PROXY: text });
      expect(error.problems).toEqual([expect.stringMatching(/^TRUST_PROXY: must be false, a hop count/)]);
      expect(error.message).not.toContain(text === '11' ? 'TRUST_PROXY: 11' : text);
    },
  );

  it('accepts "true" outside production and refuses it in production', () => {
    expect(load({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    const error = configError({ ...STRONG, NODE_ENV: 'production', TRUST_PROXY: 'true' });
    expect(error.problems).toEqual([expect.stringMatching(/^TRUST_PROXY: /)]);
  });
});

describe('loadConfig JWT_ISSUER', () => {
  it('refuses an http:// issuer URL in production (verifiers would fetch the signing keys in the clear), and takes https or a plain name', () => {
    const production = { ...STRONG, NODE_ENV: 'production' };
    expect(configError({ ...production, JWT_ISSUER: 'http://auth.example.com' }).problems).toEqual([
      'JWT_ISSUER: must be an https:// URL in production when it is a URL (verifiers fetch the signing keys from it)',
    ]);
    expect(load({ ...production, JWT_ISSUER: 'https://auth.example.com' }).jwt.issuer).toBe('https://auth.example.com');
    expect(load({ ...production, JWT_ISSUER: 'auth-server' }).jwt.issuer).toBe('auth-server');
    expect(load({ JWT_ISSUER: 'http://127.0.0.1:3000' }).jwt.issuer).toBe('http://127.0.0.1:3000');
  });

  it('refuses in production every spelling of an http issuer that discovery would publish (HTTP://, http:host)', () => {
    const production = { ...STRONG, NODE_ENV: 'production' };
    for (const issuer of ['HTTP://auth.example.com', 'http:auth.example.com', 'http:/auth.example.com/tenant']) {
      expect(configError({ ...production, JWT_ISSUER: issuer }).problems).toEqual([
        'JWT_ISSUER: must be an https:// URL in production when it is a URL (verifiers fetch the signing keys from it)',
      ]);
    }
  });
});

describe('loadConfig result', () => {
  it('is frozen all the way down', () => {
    const config = load({ CORS_ORIGINS: 'https://app.example.com', TRUST_PROXY: '10.0.0.1,10.0.0.2' });
    const frozen = [
      config,
      config.jwt,
      config.rateLimits,
      config.rateLimits.login,
      config.rateLimits.perAddress,
      config.corsOrigins,
      config.trustProxy,
    ];
    for (const part of frozen) expect(Object.isFrozen(part)).toBe(true);

    const writable = config as unknown as { port: number; jwt: { accessSecret: string }; corsOrigins: string[] };
    expect(() => {
      writable.port = 1;
    }).toThrow(TypeError);
    expect(() => {
      writable.jwt.accessSecret = 'forged';
    }).toThrow(TypeError);
    expect(() => writable.corsOrigins.push('https://evil.example.com')).toThrow(TypeError);
    expect(config.port).toBe(3000);
    expect(config.jwt.accessSecret).toBe(STRONG.JWT_SECRET);
    expect(config.corsOrigins).toEqual(['https://app.example.com']);
  });

  it('does not change the environment object it was given', () => {
    const env = { ...STRONG, PORT: '' };
    const before = { ...env };
    loadConfig(env);
    expect(env).toEqual(before);
  });
});
