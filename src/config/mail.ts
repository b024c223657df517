// The mail section: the SMTP transport, the sender and link base, and the one-time tokens and cooldown of the account-lifecycle mails.
import { duration, flag, optionalText, optionalUrl, type Parsed } from './fields';

export interface MailConfig {
  readonly mail: {
    /** nodemailer's SMTP URL (`smtp://user:pass@host:587`, `smtps://…`); null: mail is logged (development) or off (production). */
    readonly smtpUrl: string | null;
    /** The From header of every mail. */
    readonly from: string;
    /** The base of the links in mails (`APP_URL/reset-password?token=…`), without a trailing slash. */
    readonly appUrl: string;
    /** At most one mail per address in this time (ms). */
    readonly cooldownMs: number;
    readonly passwordResetTtlMs: number;
    readonly emailVerificationTtlMs: number;
  };
  /** Unverified accounts cannot log in (403 email_not_verified). */
  readonly requireEmailVerification: boolean;
}

/** The sender outside production when MAIL_FROM is not set. */
const DEVELOPMENT_FROM = 'auth-server <no-reply@localhost>';

const smtpUrl = () =>
  optionalUrl(
    (url) => ['smtp:', 'smtps:'].includes(url.protocol) && url.hostname !== '',
    'must be an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587',
  );

const appUrl = () =>
  optionalUrl(
    (url) => /^https?:$/.test(url.protocol) && url.search === '' && url.hash === '',
    'must be an http(s) URL without query or fragment, such as https://app.example.com',
  );

export const mailVariables = {
  SMTP_URL: smtpUrl(),
  MAIL_FROM: optionalText(),
  APP_URL: appUrl(),
  MAIL_COOLDOWN: duration('60s'),
  PASSWORD_RESET_TTL: duration('1h'),
  EMAIL_VERIFICATION_TTL: duration('24h'),
  REQUIRE_EMAIL_VERIFICATION: flag(false),
};

type MailEnvironment = Parsed<typeof mailVariables> & { PORT: number; HOST: string };

/** What production refuses: verification nobody can complete, and mail without a sender or links that lead nowhere. */
export function mailChecks(env: Partial<MailEnvironment>, production: boolean, problems: string[]): void {
  if (!production) return;
  if (env.REQUIRE_EMAIL_VERIFICATION === true && env.SMTP_URL === undefined) {
    problems.push('REQUIRE_EMAIL_VERIFICATION: needs SMTP_URL in production (no account could ever be verified)');
  }
  if (env.SMTP_URL !== undefined) {
    if (env.MAIL_FROM === undefined) problems.push('MAIL_FROM: is required in production when SMTP_URL is set');
    if (env.APP_URL === undefined) problems.push('APP_URL: is required in production when SMTP_URL is set (the base of the links in mails)');
  }
  // A reset link over plain http hands its token to anyone on the path.
  if (env.APP_URL !== undefined && new URL(env.APP_URL).protocol !== 'https:') {
    problems.push('APP_URL: must be an https:// URL in production (the links in mails carry one-time tokens)');
  }
}

export function mailSettings(e: MailEnvironment): MailConfig {
  return {
    mail: {
      smtpUrl: e.SMTP_URL ?? null,
      from: e.MAIL_FROM ?? DEVELOPMENT_FROM,
      appUrl: (e.APP_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
      cooldownMs: e.MAIL_COOLDOWN,
      passwordResetTtlMs: e.PASSWORD_RESET_TTL,
      emailVerificationTtlMs: e.EMAIL_VERIFICATION_TTL,
    },
    requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
  };
}
