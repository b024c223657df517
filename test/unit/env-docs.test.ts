// The documentation of the configuration cannot drift from the code: every variable is in both places.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_PLACEHOLDERS, loadConfig } from '../../src/config';

const root = join(__dirname, '..', '..');
const envExample = readFileSync(join(root, '.env.example'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

const VARIABLES = [
  'PORT', 'HOST', 'NODE_ENV', 'JWT_SECRET', 'JWT_REFRESH_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE',
  'JWT_SECRET_ID', 'JWT_VERIFY_SECRETS', 'JWT_ALGORITHM', 'JWT_PRIVATE_KEY', 'JWT_VERIFY_PUBLIC_KEYS',
  'INTROSPECTION_CLIENTS',
  'ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'REFRESH_REUSE_GRACE', 'BCRYPT_COST', 'PASSWORD_HASH_CONCURRENCY', 'PASSWORD_HASH_QUEUE', 'PASSWORD_HASH_QUEUE_PER_ADDRESS', 'PASSWORD_HASH_NICE', 'USERS_FILE',
  'ALLOW_REGISTRATION', 'LOGIN_RATE_LIMIT_MAX', 'LOGIN_RATE_LIMIT_WINDOW', 'RATE_LIMIT_MAX',
  'RATE_LIMIT_WINDOW', 'REFRESH_RATE_LIMIT_MAX', 'REFRESH_RATE_LIMIT_WINDOW', 'SESSION_IDLE_TIMEOUT', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'DATABASE_URL', 'DATABASE_SCHEMA', 'CORS_ORIGINS', 'TRUST_PROXY',
  'LOG_LEVEL', 'SMTP_URL', 'MAIL_FROM', 'APP_URL', 'MAIL_COOLDOWN', 'PASSWORD_RESET_TTL', 'EMAIL_VERIFICATION_TTL',
  'REQUIRE_EMAIL_VERIFICATION', 'MFA_ENCRYPTION_KEY', 'AUDIT_RETENTION', 'METRICS_TOKEN',
];

describe('configuration documentation', () => {
  it.each(VARIABLES)('lists %s in .env.example and in the README table', (name) => {
    expect(envExample).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    expect(readme).toContain(`\`${name}\``);
  });

  it('writes in .env.example exactly the placeholders production refuses', () => {
    for (const [name, placeholder] of Object.entries(SECRET_PLACEHOLDERS)) {
      expect(envExample).toContain(`${name}=${placeholder}`);
    }
  });

  it('loads .env.example as it stands outside production, and refuses it in production', () => {
    const values = Object.fromEntries(
      envExample
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(() => loadConfig(values)).not.toThrow();
    expect(() => loadConfig({ ...values, NODE_ENV: 'production' })).toThrow(/JWT_SECRET: is a well-known or placeholder value/);
  });
});
