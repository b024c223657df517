// loadConfig and mail: SMTP_URL, MAIL_FROM, APP_URL, the link lifetimes and REQUIRE_EMAIL_VERIFICATION, refused without echoing.
import { loadConfig, type Config } from '../../src/config';
import { configError, STRONG_SECRETS as STRONG } from '../helpers/config-errors';

function load(env: Record<string, string | undefined>): Config {
  return loadConfig({ ...STRONG, ...env }).config;
}

const PRODUCTION = { ...STRONG, NODE_ENV: 'production' };
const SMTP = { SMTP_URL: 'smtps://mailer:s3cr3t-pass@mail.example.com:465', MAIL_FROM: 'Auth <auth@example.com>', APP_URL: 'https://app.example.com' };

describe('mail configuration', () => {
  it('reads the transport, the sender, the link base (without its trailing slash) and the durations', () => {
    const config = load({ ...SMTP, APP_URL: 'https://app.example.com/account/', MAIL_COOLDOWN: '2m', PASSWORD_RESET_TTL: '30m', EMAIL_VERIFICATION_TTL: '2d', REQUIRE_EMAIL_VERIFICATION: 'true' });
    expect(config.mail).toEqual({
      smtpUrl: SMTP.SMTP_URL,
      from: 'Auth <auth@example.com>',
      appUrl: 'https://app.example.com/account',
      cooldownMs: 120_000,
      passwordResetTtlMs: 1_800_000,
      emailVerificationTtlMs: 172_800_000,
    });
    expect(config.requireEmailVerification).toBe(true);
  });

  it('points links at this server outside production when APP_URL is not set', () => {
    expect(load({ PORT: '8080', HOST: '::1' }).mail.appUrl).toBe('http://[::1]:8080');
  });

  it.each([
    ['SMTP_URL', 'http://mailer:s3cr3t-pass@mail.example.com', 's3cr3t-pass'],
    ['SMTP_URL', 'mailer:s3cr3t-pass@mail.example.com', 's3cr3t-pass'],
    ['APP_URL', 'ftp://app.example.com', 'ftp://'],
    ['APP_URL', 'https://app.example.com/?next=x', 'next=x'],
    ['MAIL_COOLDOWN', 'soon', 'soon'],
    ['REQUIRE_EMAIL_VERIFICATION', 'maybe', 'maybe'],
  ])('refuses %s=%s, naming the variable and never its value', (name, value, secret) => {
    const error = configError({ ...STRONG, [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.startsWith(`${name}: `)).toBe(true);
    expect(error.message).not.toContain(secret);
  });

  it('stops production with REQUIRE_EMAIL_VERIFICATION and no SMTP_URL: nobody could ever verify', () => {
    expect(configError({ ...PRODUCTION, REQUIRE_EMAIL_VERIFICATION: 'true' }).problems).toEqual([
      'REQUIRE_EMAIL_VERIFICATION: needs SMTP_URL in production (no account could ever be verified)',
    ]);
  });

  it('stops production with SMTP_URL but no MAIL_FROM or APP_URL, listing both', () => {
    expect(configError({ ...PRODUCTION, SMTP_URL: SMTP.SMTP_URL }).problems).toEqual([
      'MAIL_FROM: is required in production when SMTP_URL is set',
      'APP_URL: is required in production when SMTP_URL is set (the base of the links in mails)',
    ]);
  });

  it('stops production with an http:// APP_URL: the links carry one-time tokens', () => {
    expect(configError({ ...PRODUCTION, ...SMTP, APP_URL: 'http://app.example.com' }).problems).toEqual([
      'APP_URL: must be an https:// URL in production (the links in mails carry one-time tokens)',
    ]);
  });

  it('starts production without mail at all (the mail routes then answer 501), and with all of it', () => {
    expect(loadConfig(PRODUCTION).config.mail.smtpUrl).toBeNull();
    expect(loadConfig({ ...PRODUCTION, ...SMTP, REQUIRE_EMAIL_VERIFICATION: 'true' }).config.requireEmailVerification).toBe(true);
  });
});
