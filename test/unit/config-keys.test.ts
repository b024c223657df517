// loadConfig and the token keys: kids, verify-only secrets, ES256 keys, introspection clients; checked like JWT_SECRET, never echoed.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { configError } from '../helpers/config-errors';

const STRONG = {
  JWT_SECRET: 'keys-Kp3-vQ9_zR7wX2mN8bT4yL6hJ1cF5dG0sA-access',
  JWT_REFRESH_SECRET: 'keys-Wq8_nE2-rT6yU1iO4pA7sD9fG3hJ5kL0zX-refresh',
  // Set, so that the random-key warning of memory stores does not mix into the warnings under test.
  MFA_ENCRYPTION_KEY: 'q1Z0mC8yH3vKp7tW2sR9xL4bN6dF5gJ0aE1uI8oY3Tk=',
};
const OLD_SECRET = 'keys-old-Hq2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zX';
const CLIENT_SECRET = 'keys-client-Zp4mQ8vB2nX6cW1rT9yK3hL7jF5dS0gA';
/** Weak values carry this marker, so a test can check that no message ever shows one. */
const WEAK = 'qqweak';

function p256Pems() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    publicPem: String(publicKey.export({ type: 'spki', format: 'pem' })),
  };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'auth-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('JWT_SECRET_ID and JWT_VERIFY_SECRETS', () => {
  it('reads the kid of the signing secret and the verify-only secrets by kid', () => {
    const { config, warnings } = loadConfig({
      ...STRONG,
      NODE_ENV: 'production',
      JWT_SECRET_ID: 'key-2026',
      JWT_VERIFY_SECRETS: ` key-2025:${OLD_SECRET} , key.next_1~a:${OLD_SECRET}:with-colon `,
    });
    expect(config.jwt.accessKeyId).toBe('key-2026');
    expect(config.jwt.verifySecrets).toEqual([
      { kid: 'key-2025', secret: OLD_SECRET },
      { kid: 'key.next_1~a', secret: `${OLD_SECRET}:with-colon` },
    ]);
    expect(warnings).toEqual([]);
  });

  it('defaults to a kid derived from the secret and no verify-only secrets', () => {
    const { config } = loadConfig(STRONG);
    expect(config.jwt.accessKeyId).toBeNull();
    expect(config.jwt.verifySecrets).toEqual([]);
  });

  it.each([
    ['JWT_SECRET_ID', 'has spaces qq', /^JWT_SECRET_ID: must be 1 to 64 letters/],
    ['JWT_SECRET_ID', 'qq:colon', /^JWT_SECRET_ID: must be 1 to 64 letters/],
    ['JWT_VERIFY_SECRETS', `key-a:${OLD_SECRET},qqno-colon-here`, /^JWT_VERIFY_SECRETS: entry 2 must be kid:secret/],
    ['JWT_VERIFY_SECRETS', 'key-a:', /^JWT_VERIFY_SECRETS: entry 1 must be kid:secret/],
    ['JWT_VERIFY_SECRETS', `bad kid:qq${OLD_SECRET}`, /^JWT_VERIFY_SECRETS: entry 1 must be kid:secret/],
  ])('refuses %s=%j naming the entry, never the value', (name, value, problem) => {
    const error = configError({ ...STRONG, [name]: value });
    expect(error.problems).toEqual([expect.stringMatching(problem)]);
    expect(error.message).not.toMatch(/qq|keys-old/);
  });

  it('holds every verify-only secret to the production rules, naming its kid and never the secret', () => {
    const error = configError({
      ...STRONG,
      NODE_ENV: 'production',
      JWT_VERIFY_SECRETS: `short:${WEAK},placeholder:replace-with-a-random-string-of-at-least-32-bytes-access`,
    });
    expect(error.problems).toEqual([
      'JWT_VERIFY_SECRETS: the key "short" must be at least 32 bytes',
      'JWT_VERIFY_SECRETS: the key "placeholder" is a well-known or placeholder value',
    ]);
    expect(error.message).not.toContain(WEAK);
  });

  it('only warns about a weak verify-only secret outside production, without showing it', () => {
    const { warnings } = loadConfig({ ...STRONG, JWT_VERIFY_SECRETS: `short:${WEAK}` });
    expect(warnings).toEqual(['JWT_VERIFY_SECRETS: the key "short" must be at least 32 bytes: it would be refused in production']);
  });

  it.each([
    ['the kid of JWT_SECRET_ID', { JWT_SECRET_ID: 'key-a', JWT_VERIFY_SECRETS: `key-a:${OLD_SECRET}` }, 'has the kid of another key'],
    ['a kid listed twice', { JWT_VERIFY_SECRETS: `key-a:${OLD_SECRET},key-a:${OLD_SECRET}x` }, 'has the kid of another key'],
    ['JWT_SECRET again', { JWT_VERIFY_SECRETS: `key-a:${STRONG.JWT_SECRET}` }, 'repeats another secret'],
    ['JWT_REFRESH_SECRET', { JWT_VERIFY_SECRETS: `key-a:${STRONG.JWT_REFRESH_SECRET}` }, 'repeats another secret'],
  ])('refuses a verify-only secret reusing %s', (_name, env, problem) => {
    const error = configError({ ...STRONG, ...env });
    expect(error.problems).toEqual([`JWT_VERIFY_SECRETS: the key "key-a" ${problem}`]);
  });
});

describe('JWT_ALGORITHM, JWT_PRIVATE_KEY and JWT_VERIFY_PUBLIC_KEYS', () => {
  it('signs with HS256 unless told otherwise', () => {
    const { config } = loadConfig(STRONG);
    expect(config.jwt).toMatchObject({ algorithm: 'HS256', privateKey: null, verifyPublicKeys: [] });
  });

  it('reads the private key written in the variable, also on one line with "\\n"', () => {
    const { privatePem } = p256Pems();
    const multiLine = loadConfig({ ...STRONG, JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: privatePem }).config;
    const oneLine = loadConfig({ ...STRONG, JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: privatePem.replace(/\n/g, '\\n') }).config;
    expect(multiLine.jwt).toMatchObject({ algorithm: 'ES256', privateKey: privatePem });
    expect(oneLine.jwt.privateKey).toBe(privatePem);
  });

  it('reads the private key and public keys from files', () => {
    const { privatePem } = p256Pems();
    const next = p256Pems();
    const keyFile = path.join(dir, 'signing.pem');
    const publicFile = path.join(dir, 'next.pub.pem');
    writeFileSync(keyFile, privatePem);
    writeFileSync(publicFile, next.publicPem);
    const other = p256Pems();

    const { config } = loadConfig({
      ...STRONG,
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: keyFile,
      JWT_VERIFY_PUBLIC_KEYS: `${publicFile}, ${other.publicPem.replace(/\n/g, '\\n')}`,
    });
    expect(config.jwt.privateKey).toBe(privatePem);
    expect(config.jwt.verifyPublicKeys).toEqual([next.publicPem, other.publicPem]);
  });

  it('does not require JWT_SECRET with ES256 in production (it verifies nothing then), and does not warn about its absence', () => {
    const { privatePem } = p256Pems();
    const { config, warnings } = loadConfig({
      NODE_ENV: 'production',
      JWT_REFRESH_SECRET: STRONG.JWT_REFRESH_SECRET,
      MFA_ENCRYPTION_KEY: STRONG.MFA_ENCRYPTION_KEY,
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: privatePem,
    });
    expect(config.jwt.algorithm).toBe('ES256');
    expect(warnings).toEqual([]);
    expect(configError({ NODE_ENV: 'production', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: privatePem }).problems).toEqual([
      'JWT_REFRESH_SECRET: is required in production',
    ]);
  });

  it('warns that JWT_SECRET is not used with ES256, pointing at JWT_VERIFY_SECRETS, without showing it', () => {
    const { warnings } = loadConfig({ ...STRONG, NODE_ENV: 'production', JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: p256Pems().privatePem });
    expect(warnings).toEqual([
      'JWT_SECRET is not used with JWT_ALGORITHM=ES256: to accept the HS256 tokens issued before the switch, list its key in JWT_VERIFY_SECRETS (kid:secret) for one ACCESS_TOKEN_TTL',
    ]);
    expect(warnings.join('\n')).not.toContain(STRONG.JWT_SECRET);
  });

  it('takes the key of the switch to ES256 in JWT_VERIFY_SECRETS under its old kid, even while JWT_SECRET still holds it', () => {
    const env = {
      ...STRONG,
      NODE_ENV: 'production',
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: p256Pems().privatePem,
      JWT_VERIFY_SECRETS: `key-2025:${STRONG.JWT_SECRET}`,
    };
    expect(loadConfig({ ...env, JWT_SECRET_ID: 'key-2025' }).config.jwt.verifySecrets).toEqual([{ kid: 'key-2025', secret: STRONG.JWT_SECRET }]);
    const { config, warnings } = loadConfig({ ...env, JWT_SECRET: '' });
    expect(config.jwt.verifySecrets).toEqual([{ kid: 'key-2025', secret: STRONG.JWT_SECRET }]);
    expect(warnings).toEqual([]);
  });

  it('still refuses an introspection client secret equal to an unused JWT_SECRET with ES256', () => {
    const error = configError({
      ...STRONG,
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: p256Pems().privatePem,
      INTROSPECTION_CLIENTS: `notes:${STRONG.JWT_SECRET}`,
    });
    expect(error.problems).toEqual(['INTROSPECTION_CLIENTS: the client "notes" reuses a token secret']);
  });

  it.each([
    ['ES256 without a private key', () => ({ JWT_ALGORITHM: 'ES256' }), ['JWT_PRIVATE_KEY: is required when JWT_ALGORITHM is ES256']],
    ['a private key with HS256', () => ({ JWT_PRIVATE_KEY: p256Pems().privatePem }), [
      'JWT_PRIVATE_KEY: is set, but JWT_ALGORITHM is not ES256: set both or neither',
    ]],
    ['an unknown algorithm', () => ({ JWT_ALGORITHM: 'RS256' }), ['JWT_ALGORITHM: must be HS256 or ES256']],
    ['an Ed25519 key', () => ({
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: String(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' })),
    }), ['JWT_PRIVATE_KEY: must be an EC P-256 private key in PEM, or the path of a file holding one']],
    ['a public key as the private key', () => ({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: p256Pems().publicPem }), [
      'JWT_PRIVATE_KEY: must be an EC P-256 private key in PEM, or the path of a file holding one',
    ]],
    ['a missing key file', () => ({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: '/qq/no/such/key.pem' }), [
      'JWT_PRIVATE_KEY: must be an EC P-256 private key in PEM, or the path of a file holding one',
    ]],
    ['a broken public key', () => ({ JWT_VERIFY_PUBLIC_KEYS: `${p256Pems().publicPem},-----BEGIN PUBLIC KEY-----qq` }), [
      'JWT_VERIFY_PUBLIC_KEYS: entry 2 must be an EC P-256 public key in PEM, or the path of a file holding one',
    ]],
  ])('refuses %s, never showing the key or path', (_name, env, problems) => {
    const error = configError({ ...STRONG, ...env() });
    expect(error.problems).toEqual(problems);
    expect(error.message).not.toMatch(/qq|BEGIN/);
  });

  it('refuses a verify-only public key that is the signing key or listed twice', () => {
    const signing = p256Pems();
    const next = p256Pems();
    const error = configError({
      ...STRONG,
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: signing.privatePem,
      JWT_VERIFY_PUBLIC_KEYS: [signing.publicPem, next.publicPem, next.publicPem].join(','),
    });
    expect(error.problems).toEqual([
      'JWT_VERIFY_PUBLIC_KEYS: entry 1 is the signing key or another entry again',
      'JWT_VERIFY_PUBLIC_KEYS: entry 3 is the signing key or another entry again',
    ]);
  });
});

describe('INTROSPECTION_CLIENTS', () => {
  it('reads the clients by id', () => {
    const { config } = loadConfig({ ...STRONG, NODE_ENV: 'production', INTROSPECTION_CLIENTS: `notes:${CLIENT_SECRET},billing:${OLD_SECRET}` });
    expect(config.introspectionClients).toEqual([
      { id: 'notes', secret: CLIENT_SECRET },
      { id: 'billing', secret: OLD_SECRET },
    ]);
  });

  it('has no clients by default', () => {
    expect(loadConfig(STRONG).config.introspectionClients).toEqual([]);
  });

  it('holds client secrets to the production rules and refuses duplicates and reused token secrets', () => {
    const error = configError({
      ...STRONG,
      NODE_ENV: 'production',
      INTROSPECTION_CLIENTS: `notes:${WEAK},notes:${CLIENT_SECRET},billing:${STRONG.JWT_SECRET}`,
    });
    expect(error.problems).toEqual([
      'INTROSPECTION_CLIENTS: the client "notes" must be at least 32 bytes',
      'INTROSPECTION_CLIENTS: the client "notes" is listed twice',
      'INTROSPECTION_CLIENTS: the client "billing" reuses a token secret',
    ]);
    expect(error.message).not.toContain(WEAK);
    expect(error.message).not.toContain(STRONG.JWT_SECRET);
  });

  it('refuses a malformed entry, naming its position', () => {
    const error = configError({ ...STRONG, INTROSPECTION_CLIENTS: `notes:${CLIENT_SECRET},qqsecret-without-id` });
    expect(error.problems).toEqual([expect.stringMatching(/^INTROSPECTION_CLIENTS: entry 2 must be client id:secret/)]);
    expect(error.message).not.toContain('qq');
  });
});

it('lists the problems of every key variable in one message', () => {
  const error = configError({
    NODE_ENV: 'production',
    JWT_SECRET_ID: 'bad id',
    JWT_VERIFY_SECRETS: `old:${WEAK}`,
    JWT_ALGORITHM: 'ES256',
    INTROSPECTION_CLIENTS: `notes:${WEAK}-client`,
  });
  expect(error.problems.map((problem) => problem.slice(0, problem.indexOf(':')))).toEqual([
    'JWT_SECRET_ID',
    'JWT_REFRESH_SECRET',
    'JWT_VERIFY_SECRETS',
    'JWT_PRIVATE_KEY',
    'INTROSPECTION_CLIENTS',
  ]);
});
