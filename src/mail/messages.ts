// The account-lifecycle mails (reset link, verification link, security notices) and the links they carry.
import { humanDuration } from './human-duration';
import { renderParts, type Block } from './layout';
import type { MailMessage } from './types';

/** A mail whose one job is a single-use link. */
export interface LinkMailInput {
  readonly to: string;
  /** Built with resetLink() or verificationLink(). */
  readonly link: string;
  /** How long the link works, as configured (PASSWORD_RESET_TTL, EMAIL_VERIFICATION_TTL). */
  readonly ttlMs: number;
}

export interface PasswordChangedInput {
  readonly to: string;
  /** 'changed': signed in, with the current password; 'reset': through a mailed link. */
  readonly how: 'changed' | 'reset';
  /** When, in ms since the epoch. */
  readonly at: number;
}

export interface SessionEndedInput {
  readonly to: string;
  /** When the replay was detected, in ms since the epoch. */
  readonly at: number;
  /** The ended session's User-Agent and address, as stored at its login. */
  readonly userAgent: string;
  readonly ip: string;
}

/** A stored User-Agent is whatever the client sent: cap it, and keep control characters out of both parts. */
const MAX_USER_AGENT_CHARS = 200;

function withoutTrailingSlashes(appUrl: string): string {
  return appUrl.replace(/\/+$/, '');
}

/** `APP_URL/reset-password?token=<token>`, the page that posts the token to /password/reset. */
export function resetLink(appUrl: string, token: string): string {
  return `${withoutTrailingSlashes(appUrl)}/reset-password?token=${encodeURIComponent(token)}`;
}

/** `APP_URL/verify-email?token=<token>`, the page that posts the token to /email/verify. */
export function verificationLink(appUrl: string, token: string): string {
  return `${withoutTrailingSlashes(appUrl)}/verify-email?token=${encodeURIComponent(token)}`;
}

/** ISO 8601 in UTC to the second: milliseconds mean nothing to a reader. */
function utcTime(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function oneLine(value: string, fallback: string): string {
  const clean = value.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (clean === '') return fallback;
  return clean.length > MAX_USER_AGENT_CHARS ? `${clean.slice(0, MAX_USER_AGENT_CHARS)}…` : clean;
}

function mail(to: string, subject: string, blocks: readonly Block[], link?: string): MailMessage {
  const parts = renderParts(subject, blocks);
  return link === undefined ? { to, subject, ...parts } : { to, subject, ...parts, link };
}

/** The reset link of POST /password/forgot (and of an admin's invitation). */
export function passwordResetMail({ to, link, ttlMs }: LinkMailInput): MailMessage {
  return mail(
    to,
    'Reset your password',
    [
      `Someone asked to reset the password of the account for ${to}.`,
      { label: 'Choose a new password', href: link },
      `The link works once and expires in ${humanDuration(ttlMs)}.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ],
    link,
  );
}

/** The verification link sent at registration and by POST /email/verify/resend. */
export function verificationMail({ to, link, ttlMs }: LinkMailInput): MailMessage {
  return mail(
    to,
    'Confirm your email address',
    [
      `Please confirm that ${to} is your email address.`,
      { label: 'Confirm my email address', href: link },
      `The link works once and expires in ${humanDuration(ttlMs)}.`,
      'If you did not create an account, ignore this mail: nothing happens without the link.',
    ],
    link,
  );
}

/** The notice after a password change or reset: the one warning the owner of a hijacked account gets. */
export function passwordChangedMail({ to, how, at }: PasswordChangedInput): MailMessage {
  const changed = how === 'changed';
  return mail(to, changed ? 'Your password was changed' : 'Your password was reset', [
    changed
      ? `The password of the account for ${to} was changed at ${utcTime(at)}.`
      : `The password of the account for ${to} was reset with a link mailed to this address at ${utcTime(at)}.`,
    // A change keeps the session it was made in; a reset is made signed out and ends them all.
    changed ? 'Every other session of the account was signed out.' : 'Every session of the account was signed out.',
    'If this was not you, reset your password now with "Forgot password" on the sign-in page, and check who else can read this mailbox.',
  ]);
}

/**
 * The product tokens of a User-Agent ("Firefox/133.0", "curl/8.5.0"), at most six, and nothing
 * else: the header is whatever the client sent, and a sentence or a URL in it must not reach the
 * owner's inbox inside a genuine mail from this server. A product name holds no dot, so no domain
 * passes. Hand-written because no kept User-Agent parser is a dependency here.
 */
function productTokens(userAgent: string): string {
  const products = [...userAgent.matchAll(/(?:^|[\s(;,])([A-Za-z][A-Za-z0-9_-]{0,29})\/(\d[\w.]{0,19})/g)].map((match) => `${match[1]}/${match[2]}`);
  return products.slice(0, 6).join(' ');
}

/** The notice after refresh-token reuse ended a session; it names the session, never a token. */
export function sessionEndedMail({ to, at, userAgent, ip }: SessionEndedInput): MailMessage {
  return mail(to, 'One of your sessions was signed out', [
    `At ${utcTime(at)}, a refresh token of one of the sessions of the account for ${to} was used twice. A refresh token works only once, so someone may have copied it: we signed that session out.`,
    `The session: ${oneLine(productTokens(userAgent), 'an unknown app')}, from ${oneLine(ip, 'an unknown address')}.`,
    'If you did not expect this, change your password. If an app of yours simply lost its connection, sign in there again.',
  ]);
}
